"""Seed a demo organisation: Northwind Outfitters, a clothing retailer.

Teams, agents across tiers, languages and skills, customers (some VIP), open tickets on several
channels, and an order/shipment store for bot flows. Issue flows (shipping, returns, defects,
account access, disputes) follow the ABCD data set (ASAPP, MIT licence; see data/abcd).
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from sqlalchemy.orm import Session

from relaydesk.agents import service as agents
from relaydesk.agents.schemas import AgentCreate, SkillIn, TeamCreate
from relaydesk.auth.roles import Role
from relaydesk.channels.chat.pages import ensure_demo_site
from relaydesk.commerce.enums import OrderStatus, ShipmentStatus
from relaydesk.commerce.models import Order, Shipment
from relaydesk.customers import service as customers
from relaydesk.customers.enums import CustomerTier, IdentityKind
from relaydesk.customers.schemas import CustomerCreate, IdentityIn
from relaydesk.kit.time import utcnow
from relaydesk.knowledge.enums import Visibility
from relaydesk.knowledge.service import Editor
from relaydesk.knowledge.transfer import ArticleRecord, ImportReport, import_records
from relaydesk.tickets import service as tickets
from relaydesk.tickets.enums import AuthorKind, Channel, Priority, TicketStatus
from relaydesk.tickets.events import Actor
from relaydesk.tickets.models import Ticket
from relaydesk.tickets.schemas import CustomerRef, MessageCreate, StatusChange, TicketCreate, TicketUpdate

__all__ = ["DEMO_PASSWORD", "DemoSummary", "seed_demo"]

DEMO_PASSWORD = "relaydesk-demo"
_SYSTEM = Actor(AuthorKind.SYSTEM)

TEAMS = [
    ("Frontline", "First answer on every channel", False),
    ("Orders & Shipping", "Where-is-my-order, delivery problems, address changes", False),
    ("Returns & Refunds", "Returns, exchanges, refunds", False),
    ("Billing & Disputes", "Charges, promo codes, payment disputes", False),
    ("Technical", "Site and app problems, account access", False),
    ("Legal & Compliance", "Legal threats, data requests, regulators", True),
]

AGENTS = [
    # email, name, role, tier, languages, teams, skills
    ("admin@northwind.example", "Ada Admin", Role.ADMIN, 6, ["en"], [], []),
    (
        "maria@northwind.example",
        "María López",
        Role.AGENT,
        1,
        ["en", "es"],
        ["Frontline"],
        [("shipping", 3), ("returns", 2)],
    ),
    (
        "sam@northwind.example",
        "Sam Carter",
        Role.AGENT,
        1,
        ["en"],
        ["Frontline", "Orders & Shipping"],
        [("shipping", 4)],
    ),
    (
        "lea@northwind.example",
        "Léa Martin",
        Role.AGENT,
        2,
        ["en", "fr"],
        ["Returns & Refunds"],
        [("returns", 4), ("refunds", 3)],
    ),
    (
        "omar@northwind.example",
        "Omar Haddad",
        Role.AGENT,
        2,
        ["en", "ar"],
        ["Technical"],
        [("account_access", 4), ("site_troubleshooting", 4)],
    ),
    (
        "kim@northwind.example",
        "Kim Nguyen",
        Role.LEAD,
        3,
        ["en", "vi"],
        ["Orders & Shipping", "Frontline"],
        [("shipping", 5), ("escalations", 4)],
    ),
    (
        "jonas@northwind.example",
        "Jonas Weber",
        Role.AGENT,
        4,
        ["en", "de"],
        ["Billing & Disputes"],
        [("disputes", 5), ("billing", 4)],
    ),
    (
        "priya@northwind.example",
        "Priya Shah",
        Role.MANAGER,
        5,
        ["en", "hi"],
        ["Frontline"],
        [("escalations", 5)],
    ),
    (
        "grace@northwind.example",
        "Grace Okafor",
        Role.AGENT,
        6,
        ["en"],
        ["Legal & Compliance"],
        [("legal", 5)],
    ),
]

CUSTOMERS = [
    # name, tier, language, email, phone, member level (ABCD)
    ("Crystal Minh", CustomerTier.STANDARD, "en", "cminh730@email.example", "+19776252661", "bronze"),
    ("Joseph Banter", CustomerTier.PREMIUM, "en", "jbanter@email.example", "+14155550142", "gold"),
    ("Alessandro Phoenix", CustomerTier.VIP, "en", "aphoenix@email.example", "+12125550199", "platinum"),
    ("Sofía Ramírez", CustomerTier.STANDARD, "es", "sofia.ramirez@email.example", "+34911234567", "silver"),
    ("Chloé Dubois", CustomerTier.VIP, "fr", "chloe.dubois@email.example", "+33142685300", "gold"),
    ("David Chen", CustomerTier.STANDARD, "en", "dchen@email.example", "+16045550111", "bronze"),
]

PRODUCTS = [
    ("MK-JEANS-32", "Michael Kors jeans", 9400),
    ("TH-BOOTS-10", "Tommy Hilfiger boots", 12900),
    ("CK-SHIRT-M", "Calvin Klein shirt", 5400),
    ("GU-JACKET-L", "Guess jacket", 18900),
    ("JC-SOCKS-3", "Jcrew socks (3 pack)", 1900),
]

TICKETS = [
    # customer index, channel, subject, body, priority, team, status, flags
    (
        0,
        Channel.WEB_CHAT,
        "Order hasn't arrived",
        "Hi, my order 3348917502 was supposed to arrive three days ago and tracking hasn't moved.",
        Priority.NORMAL,
        "Orders & Shipping",
        TicketStatus.QUEUED,
        [],
    ),
    (
        1,
        Channel.EMAIL,
        "Wrong size jeans, want to exchange",
        "I got the wrong size jeans (32 instead of 34). Can I exchange them? Order 5523187720.",
        Priority.NORMAL,
        "Returns & Refunds",
        TicketStatus.OPEN,
        [],
    ),
    (
        2,
        Channel.SMS,
        "Charged twice for my jacket",
        "I was charged twice for the Guess jacket. Please refund the duplicate charge today.",
        Priority.HIGH,
        "Billing & Disputes",
        TicketStatus.OPEN,
        ["vip"],
    ),
    (
        3,
        Channel.SOCIAL,
        "No puedo entrar en mi cuenta",
        "Hola, olvidé mi contraseña y el correo de recuperación no llega.",
        Priority.NORMAL,
        "Technical",
        TicketStatus.NEW,
        [],
    ),
    (
        4,
        Channel.IN_APP,
        "Promo code rejected at checkout",
        "The code WINTER20 says it is invalid but the email says it's valid until Sunday.",
        Priority.LOW,
        "Billing & Disputes",
        TicketStatus.PENDING_CUSTOMER,
        ["vip"],
    ),
    (
        5,
        Channel.EMAIL,
        "I will take legal action",
        "This is the third time my refund was promised. If it's not resolved this week I will contact my "
        "lawyer and file a complaint with the consumer protection agency.",
        Priority.URGENT,
        "Legal & Compliance",
        TicketStatus.OPEN,
        ["legal_threat"],
    ),
    (
        0,
        Channel.PHONE,
        "Callback: boots have a broken zip",
        "Customer called: the zip on the Tommy Hilfiger boots broke after two days. Wants a replacement.",
        Priority.NORMAL,
        "Returns & Refunds",
        TicketStatus.QUEUED,
        [],
    ),
]


@dataclass
class DemoSummary:
    logins: list[tuple[str, str, str]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    already_seeded: bool = False


def seed_demo(session: Session, *, seed: int = 7) -> DemoSummary:
    """Idempotent: a database that already holds the demo admin is left as it is."""
    seed_chat(session)  # idempotent on its own, so older demo databases get the chat site too
    seed_knowledge(session)  # idempotent too (upserts by external id)
    summary = DemoSummary()
    rng = random.Random(seed)
    if agents.list_agents(session) and any(a.email == AGENTS[0][0] for a in agents.list_agents(session)):
        summary.already_seeded = True
        summary.logins = [(a[0], DEMO_PASSWORD, a[2].value) for a in AGENTS]
        return summary

    team_ids = {}
    for name, description, restricted in TEAMS:
        team = agents.create_team(
            session, TeamCreate(name=name, description=description, restricted=restricted)
        )
        team_ids[name] = team.id

    agent_ids = {}
    for email, name, role, tier, languages, teams, skills in AGENTS:
        agent = agents.create_agent(
            session,
            AgentCreate(
                email=email,
                name=name,
                password=DEMO_PASSWORD,
                role=role,
                tier_level=tier,
                languages=languages,
                capacity={"web_chat": 3, "in_app": 3, "email": 12, "sms": 6, "social": 6, "phone": 1},
                team_ids=[team_ids[t] for t in teams],
                skills=[SkillIn(skill=s, level=lvl) for s, lvl in skills],
            ),
        )
        agent_ids[email] = agent.id
        summary.logins.append((email, DEMO_PASSWORD, role.value))

    customer_ids = []
    for name, customer_tier, language, email, phone, level in CUSTOMERS:
        customer = customers.create_customer(
            session,
            CustomerCreate(
                name=name,
                tier=customer_tier,
                language=language,
                custom_fields={"member_level": level},
                identities=[
                    IdentityIn(kind=IdentityKind.EMAIL, value=email, verified=True),
                    IdentityIn(kind=IdentityKind.PHONE, value=phone, verified=True),
                ],
            ),
        )
        customer_ids.append(customer.id)

    now = utcnow()
    order_count = 0
    for index, customer_id in enumerate(customer_ids):
        for n in range(2):
            placed = now - timedelta(days=rng.randint(2, 40))
            sku, product, price = rng.choice(PRODUCTS)
            quantity = rng.randint(1, 2)
            status = rng.choice([OrderStatus.SHIPPED, OrderStatus.DELIVERED, OrderStatus.PAID])
            number = "3348917502" if (index, n) == (0, 0) else str(rng.randint(10**9, 10**10 - 1))
            if (index, n) == (1, 0):
                number = "5523187720"
            order = Order(
                order_number=number,
                customer_id=customer_id,
                status=status,
                placed_at=placed,
                total_cents=price * quantity,
                currency="USD",
                items=[{"sku": sku, "name": product, "quantity": quantity, "price_cents": price}],
            )
            if status is not OrderStatus.PAID:
                delayed = (index, n) == (0, 0)
                order.shipments.append(
                    Shipment(
                        carrier=rng.choice(["UPS", "FedEx", "USPS", "DHL"]),
                        tracking_number=f"1Z{rng.randint(10**13, 10**14 - 1)}",
                        status=ShipmentStatus.DELAYED
                        if delayed
                        else ShipmentStatus.DELIVERED
                        if status is OrderStatus.DELIVERED
                        else ShipmentStatus.IN_TRANSIT,
                        estimated_delivery=(placed + timedelta(days=5)).date(),
                        last_event="Held at regional facility (weather)"
                        if delayed
                        else "Scanned at facility",
                    )
                )
            session.add(order)
            order_count += 1

    ticket_count = 0
    for cust, channel, subject, body, priority, team_name, target_status, flags in TICKETS:
        ticket = tickets.create_ticket(
            session,
            TicketCreate(
                subject=subject,
                body=body,
                customer=CustomerRef(id=customer_ids[cust]),
                channel=channel,
                priority=priority,
                team_id=team_ids[team_name],
                flags=flags,
            ),
            _SYSTEM,
        )
        _advance(session, ticket, target_status, agent_ids)
        ticket_count += 1

    summary.counts = {
        "teams": len(team_ids),
        "agents": len(agent_ids),
        "customers": len(customer_ids),
        "orders": order_count,
        "tickets": ticket_count,
    }
    return summary


def _advance(session: Session, ticket: Ticket, target: TicketStatus, agent_ids: dict[str, int]) -> None:
    if target is TicketStatus.NEW:
        return
    tickets.change_status(session, ticket, StatusChange(status=TicketStatus.QUEUED), _SYSTEM)
    if target is TicketStatus.QUEUED:
        return
    members = [a for a in agents.list_agents(session, team_id=ticket.team_id) if a.role != Role.ADMIN]
    assignee = members[0] if members else None
    if assignee is not None:
        tickets.update_ticket(session, ticket, TicketUpdate(assignee_id=assignee.id), _SYSTEM)
    tickets.change_status(session, ticket, StatusChange(status=TicketStatus.OPEN), _SYSTEM)
    if assignee is not None:
        tickets.add_agent_message(
            session,
            ticket,
            MessageCreate(body="Thanks for reaching out. I'm looking into this now.", public=True),
            assignee.id,
        )
    if target is TicketStatus.PENDING_CUSTOMER:
        tickets.change_status(session, ticket, StatusChange(status=TicketStatus.PENDING_CUSTOMER), _SYSTEM)


def seed_chat(session: Session) -> None:
    """The demo shop's chat site (key ``northwind-demo``), embedded by the page at ``/chat/demo``."""
    ensure_demo_site(session)


# Agent guidelines from ABCD (ASAPP, MIT licence, data/abcd) turned into knowledge-base articles.
KNOWLEDGE_SUBFLOWS = [
    ("Product Defect", "Initiate Refund"),
    ("Shipping Issue", "Shipping Status"),
    ("Account Access", "Recover Password"),
    ("Purchase Dispute", "Promo Code Invalid"),
    ("Troubleshoot Site", "Cart Not Updating"),
    ("Manage Account", "Manage Change Address"),
]


def seed_knowledge(session: Session) -> int:
    """Help-center articles for the demo brand; idempotent (upserts by external id). Returns how many."""
    path = Path(__file__).resolve().parents[3] / "data" / "abcd" / "guidelines.json"
    if not path.exists():  # an installed wheel without the repository's data folder
        return 0
    guidelines = json.loads(path.read_text())
    # Kept as the articles' metadata (``Article.attribution``), not in the text customers read.
    attribution = "ABCD agent guidelines, ASAPP Research (Chen et al., 2021), MIT licence (data/abcd/LICENSE)"
    records = []
    for flow, subflow in KNOWLEDGE_SUBFLOWS:
        actions = guidelines[flow]["subflows"][subflow]["actions"]
        steps = []
        for number, action in enumerate(actions, start=1):
            steps.append(f"{number}. {action['text'].strip()}")
            steps.extend(f"   - {sub.strip()}" for sub in action.get("subtext", []))
        records.append(
            ArticleRecord(
                id=f"abcd-{flow}-{subflow}".lower().replace(" ", "-"),
                title=f"{subflow} ({flow.lower()})",
                body="\n".join(steps),
                category=flow,
                tags=["abcd", "guideline"],
                visibility=Visibility.INTERNAL,
                attribution=attribution,
            )
        )
    refund = guidelines["Product Defect"]["subflows"]["Initiate Refund"]["actions"]
    methods = next(a["subtext"] for a in refund if a.get("button") == "Record Reason")
    options = "\n".join(f"- **{m.split(' - ', 1)[0].strip()}**" for m in methods)
    records.append(
        ArticleRecord(
            id="abcd-how-refunds-are-paid",
            title="How will I get my refund?",
            body="When a refund is approved you choose how it is paid:\n\n"
            + options
            + "\n\nFor a gift card or a paper check we ask for the address to mail it to.",
            category="Refunds",
            tags=["refund"],
            attribution=attribution,
        )
    )
    records.extend(
        ArticleRecord(
            id=f"northwind-{slug}",
            title=title,
            body=body,
            category=category,
            tags=tags,
            questions=DEMO_QUESTIONS.get(slug, []),
        )
        for slug, title, category, tags, body in HELP_CENTER_ARTICLES
    )
    report = import_records(session, records, Editor(label="demo"), ImportReport(), warm=False)
    return report.created + report.updated + report.unchanged


# Other ways the demo brand's customers ask what each article answers, as its editors would write them
# in "Other ways customers ask this": search matches short questions against these too.
DEMO_QUESTIONS = {
    "track-order": [
        "track order",
        "my order is late",
        "when will my order arrive",
        "the parcel was never delivered",
        "has my order shipped yet",
    ],
    "change-shipping-address": [
        "wrong address on my order",
        "ship to a different address",
        "update the delivery address",
    ],
    "returns": [
        "wrong size",
        "it does not fit",
        "send it back",
        "return policy",
        "exchange for another size",
    ],
    "reset-password": ["reset password", "locked out of my account", "the reset email never came"],
    "promo-codes": ["coupon not accepted", "discount not applied", "voucher code is invalid"],
}

# Customer-facing help-center articles for the demo brand, written for Relaydesk's demo.
HELP_CENTER_ARTICLES = [
    (
        "track-order",
        "Where is my order? Tracking a delivery",
        "Shipping",
        ["shipping", "tracking"],
        "Every order gets a tracking link by email as soon as it leaves our warehouse, usually within one "
        "business day.\n\n1. Open the shipping confirmation email and choose **Track my parcel**.\n"
        "2. Or sign in, open **Orders**, pick the order and choose **Track**.\n\n"
        "Standard delivery takes 3 to 5 business days, express 1 to 2. If the tracking page has not moved "
        "for 5 business days, or says delivered but nothing arrived, write to us with your 10-digit order "
        "number and we will trace the parcel with the carrier.",
    ),
    (
        "change-shipping-address",
        "Changing the delivery address of an order",
        "Shipping",
        ["shipping", "address"],
        "You can change the address until the order is packed (its status shows **Processing**).\n\n"
        "1. Sign in and open **Orders**.\n2. Choose the order, then **Change delivery address**.\n\n"
        "Once the order shows **Shipped** the address can no longer be changed by us; use the carrier's "
        "link in the tracking email to redirect the parcel to a pickup point.",
    ),
    (
        "returns",
        "Returning or exchanging an item",
        "Returns",
        ["returns", "exchange", "refund"],
        "Shoes too small, a jacket that does not fit, or not what you expected? Unworn items can be sent "
        "back within 30 days of delivery for free, for a refund or in exchange for another size.\n\n"
        "1. Sign in, open **Orders** and choose **Return items**.\n2. Pick the items and a reason; for "
        "another size choose **Exchange** and the size you want.\n"
        "3. Print the prepaid label, or show the QR code at a drop-off point.\n\n"
        "An exchange ships as soon as the carrier scans your parcel. Refunds go back to the original "
        "payment method within 5 business days of the return reaching us.",
    ),
    (
        "reset-password",
        "I forgot my password",
        "Account",
        ["account", "password"],
        "On the sign-in page choose **Forgot password?**, enter the email address of your account and "
        "follow the link we send (it works for one hour). No email after 10 minutes? Check the spam "
        "folder, then write to us from the same address and we will help you in.",
    ),
    (
        "promo-codes",
        "My promo code does not work",
        "Payments",
        ["promo", "discount"],
        "Promo codes are case-sensitive, work once per customer, and do not apply to items already on "
        "sale. Check the expiry date in the email that brought you the code. If the code should apply "
        "and the cart refuses it, send us the code and a screenshot of the cart.",
    ),
]
