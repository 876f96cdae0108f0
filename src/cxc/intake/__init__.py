"""Registrations from form exports (CSV, XLSX) merged into programme files (`cxc import`)."""

from cxc.intake.merge import ImportSummary, Mapping_, import_registrations, read_mapping

__all__ = ["ImportSummary", "Mapping_", "import_registrations", "read_mapping"]
