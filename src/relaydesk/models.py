"""Every table, imported in one place so metadata is complete for migrations and tests."""

from relaydesk.agents.models import Agent, AgentSkill, Team, TeamMembership
from relaydesk.auth.models import ApiToken
from relaydesk.channels.models import Delivery, QuarantinedInput
from relaydesk.commerce.models import Order, Shipment
from relaydesk.customers.models import Customer, CustomerIdentity
from relaydesk.db import Base
from relaydesk.jobs.models import Job
from relaydesk.tickets.models import Attachment, Message, Ticket, TicketEvent

__all__ = [
    "Agent",
    "AgentSkill",
    "ApiToken",
    "Attachment",
    "Base",
    "Customer",
    "CustomerIdentity",
    "Delivery",
    "Job",
    "Message",
    "Order",
    "QuarantinedInput",
    "Shipment",
    "Team",
    "TeamMembership",
    "Ticket",
    "TicketEvent",
]
