"""SLA: business calendars, SLA targets and the clocks that count them (see README.md)."""
