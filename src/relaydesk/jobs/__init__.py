"""Durable jobs and timers in the database.

A job row is written in the same transaction as the state change that needs it, so a crash can never
lose the follow-up work nor run it for a change that rolled back. See README.md.
"""

from relaydesk.jobs.models import Job, JobLane, JobState
from relaydesk.jobs.queue import enqueue
from relaydesk.jobs.registry import discover_tasks, periodic, task
from relaydesk.jobs.steps import committed_step

__all__ = ["Job", "JobLane", "JobState", "committed_step", "discover_tasks", "enqueue", "periodic", "task"]
