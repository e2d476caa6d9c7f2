"""Named areas from a GeoJSON file, prepared once with shapely for fast point-in-polygon tests."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import shapely
import yaml
from shapely.geometry.base import BaseGeometry

from gateway.rules.problems import Problem


@dataclass(frozen=True, slots=True)
class Area:
    """A polygon or multipolygon named by its feature's ``properties.name``. GeoJSON is (lon, lat)."""

    name: str
    title: Mapping[str, str]
    geometry: BaseGeometry
    bounds: tuple[float, float, float, float]  # min_lon, min_lat, max_lon, max_lat

    def contains(self, lat: float, lon: float) -> bool:
        min_lon, min_lat, max_lon, max_lat = self.bounds
        if not (min_lon <= lon <= max_lon and min_lat <= lat <= max_lat):
            return False
        return bool(shapely.intersects_xy(self.geometry, lon, lat))


def _feature_lines(text: str) -> list[int]:
    """Line of each feature, best effort (JSON is YAML's flow syntax; json gives no positions)."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return []
    if not isinstance(root, yaml.MappingNode):
        return []
    for key, value in root.value:
        if key.value == "features" and isinstance(value, yaml.SequenceNode):
            return [item.start_mark.line + 1 for item in value.value]
    return []


def load_areas(path: Path, problems: list[Problem]) -> dict[str, Area]:
    """Read a GeoJSON FeatureCollection of named polygons; append a Problem for each bad feature."""
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8")
        data: Any = json.loads(text)
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(Problem(name, 1, f"cannot read file: {exc}"))
        return {}
    except json.JSONDecodeError as exc:
        problems.append(Problem(name, exc.lineno, f"JSON syntax error: {exc.msg}"))
        return {}
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
        problems.append(Problem(name, 1, "expected a GeoJSON FeatureCollection"))
        return {}
    features = data.get("features")
    if not isinstance(features, list):
        problems.append(Problem(name, 1, "FeatureCollection without a 'features' list"))
        return {}
    lines = _feature_lines(text)
    areas: dict[str, Area] = {}
    for i, feature in enumerate(features):
        line = lines[i] if i < len(lines) else 1
        where = f"features[{i}]"
        area = _load_feature(feature, where, lambda msg, line=line: Problem(name, line, msg), problems)
        if area is None:
            continue
        if area.name in areas:
            problems.append(Problem(name, line, f"{where}: duplicate area name {area.name!r}"))
            continue
        areas[area.name] = area
    return areas


def _load_feature(feature: Any, where: str, problem: Any, problems: list[Problem]) -> Area | None:
    if not isinstance(feature, dict) or feature.get("type") != "Feature":
        problems.append(problem(f"{where}: expected a GeoJSON Feature"))
        return None
    props = feature.get("properties") or {}
    area_name = props.get("name") if isinstance(props, dict) else None
    if not isinstance(area_name, str) or not area_name:
        problems.append(problem(f"{where}: properties.name is required (the name rules use)"))
        return None
    geojson = feature.get("geometry")
    if not isinstance(geojson, dict) or geojson.get("type") not in ("Polygon", "MultiPolygon"):
        problems.append(problem(f"{where} {area_name!r}: geometry must be a Polygon or MultiPolygon"))
        return None
    try:
        geometry = shapely.from_geojson(json.dumps(geojson))
    except (shapely.errors.GEOSException, ValueError) as exc:
        problems.append(problem(f"{where} {area_name!r}: unreadable geometry: {exc}"))
        return None
    min_lon, min_lat, max_lon, max_lat = (float(b) for b in geometry.bounds)
    if not all(map(math.isfinite, (min_lon, min_lat, max_lon, max_lat))) or geometry.is_empty:
        problems.append(problem(f"{where} {area_name!r}: empty geometry"))
        return None
    if not (-180 <= min_lon <= max_lon <= 180 and -90 <= min_lat <= max_lat <= 90):
        problems.append(problem(f"{where} {area_name!r}: coordinates out of range (GeoJSON is lon, lat)"))
        return None
    if not geometry.is_valid:
        reason = shapely.is_valid_reason(geometry)
        problems.append(problem(f"{where} {area_name!r}: invalid polygon: {reason}"))
        return None
    shapely.prepare(geometry)
    title = props.get("title")
    titles = {str(k): str(v) for k, v in title.items()} if isinstance(title, dict) else {}
    return Area(area_name, titles, geometry, (min_lon, min_lat, max_lon, max_lat))
