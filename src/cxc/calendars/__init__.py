"""Calendars and itineraries: events, VTIMEZONEs, printable pages, and `cxc export`."""
