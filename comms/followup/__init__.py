"""After an incident: the review meeting, its reminders, the report and the timeline exports."""
