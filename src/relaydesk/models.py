"""Every table, imported in one place so metadata is complete for migrations and tests."""

from relaydesk.agents.models import Agent, AgentSkill, AgentStatusChange, Team, TeamMembership
from relaydesk.auth.models import AgentSession, ApiToken, LoginThrottle
from relaydesk.channels.chat.models import ChatSite
from relaydesk.channels.email.models import EmailReceipt, MailboxState
from relaydesk.channels.models import Delivery, QuarantinedInput
from relaydesk.channels.phone.models import PhoneCallback
from relaydesk.classification.models import ClassifierHead, ModelVersion
from relaydesk.commerce.models import Order, Shipment
from relaydesk.customers.models import Customer, CustomerIdentity
from relaydesk.db import Base
from relaydesk.deflection.models import SuggestedArticle, SuggestionQuery, SuggestionSession
from relaydesk.escalation.models import Escalation
from relaydesk.jobs.models import Job
from relaydesk.knowledge.models import (
    Article,
    ArticleVersion,
    KnowledgeIndexState,
    PassageEmbedding,
)
from relaydesk.routing.models import RoutingOffer, RoutingState
from relaydesk.sla.models import SlaClock, SlaFollow
from relaydesk.tickets.models import Attachment, Message, Ticket, TicketEvent
from relaydesk.triage.models import TicketTriage, TrainingExample, TriageCorrection
from relaydesk.workspace.macros import Macro
from relaydesk.workspace.models_views import SavedView
from relaydesk.workspace.notifications import AgentNotification

__all__ = [
    "Agent",
    "AgentNotification",
    "AgentSession",
    "AgentSkill",
    "AgentStatusChange",
    "ApiToken",
    "Article",
    "ArticleVersion",
    "Attachment",
    "Base",
    "ChatSite",
    "ClassifierHead",
    "Customer",
    "CustomerIdentity",
    "Delivery",
    "EmailReceipt",
    "Escalation",
    "Job",
    "KnowledgeIndexState",
    "LoginThrottle",
    "Macro",
    "MailboxState",
    "Message",
    "ModelVersion",
    "Order",
    "PassageEmbedding",
    "PhoneCallback",
    "QuarantinedInput",
    "RoutingOffer",
    "RoutingState",
    "SavedView",
    "Shipment",
    "SlaClock",
    "SlaFollow",
    "SuggestedArticle",
    "SuggestionQuery",
    "SuggestionSession",
    "Team",
    "TeamMembership",
    "Ticket",
    "TicketEvent",
    "TicketTriage",
    "TrainingExample",
    "TriageCorrection",
]
