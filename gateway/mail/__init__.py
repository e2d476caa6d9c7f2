"""Mail normalisation: raw bytes in, an InboundMessage out; reply stripping and language detection."""

from gateway.mail.contract import to_json
from gateway.mail.language import detect_language
from gateway.mail.normalise import LOOP_HEADER, parse
from gateway.mail.reply import strip_reply

__all__ = ["LOOP_HEADER", "detect_language", "parse", "strip_reply", "to_json"]
