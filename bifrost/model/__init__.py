"""The domain model: frozen dataclasses and enums shared by every engine."""
