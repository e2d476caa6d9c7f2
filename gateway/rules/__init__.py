"""Routing rules and department configuration: loading with line-numbered errors, the engine, work time."""

from gateway.deadlines.timewindow import TimeWindow, parse_window
from gateway.deadlines.worktime import (
    Duration,
    HolidayCalendar,
    WorkCalendar,
    add_working_time,
    parse_duration,
    working_time_between,
)
from gateway.rules.areas import Area
from gateway.rules.case import CaseFields
from gateway.rules.check import check_config
from gateway.rules.config import (
    Config,
    Department,
    DutyEntry,
    Example,
    Rule,
    Webhook,
    is_city_address,
    is_role_address,
)
from gateway.rules.engine import route, route_to
from gateway.rules.problems import ConfigError, Problem
from gateway.rules.schema import load_config

__all__ = [
    "Area",
    "CaseFields",
    "Config",
    "ConfigError",
    "Department",
    "Duration",
    "DutyEntry",
    "Example",
    "HolidayCalendar",
    "Problem",
    "Rule",
    "TimeWindow",
    "Webhook",
    "WorkCalendar",
    "add_working_time",
    "check_config",
    "is_city_address",
    "is_role_address",
    "load_config",
    "parse_duration",
    "parse_window",
    "route",
    "route_to",
    "working_time_between",
]
