"""Seed a demo organisation: Northwind Outfitters, a clothing retailer.

Teams, agents across tiers, languages and skills, customers (some VIP), open tickets on several
channels, and an order/shipment store for bot flows. Issue flows (shipping, returns, defects,
account access, disputes) follow the ABCD data set (ASAPP, MIT licence; see data/abcd).
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from sqlalchemy.orm import Session

from relaydesk.agents import service as agents
from relaydesk.agents.enums import AgentStatus
from relaydesk.agents.schemas import AgentCreate, SkillIn, TeamCreate
from relaydesk.auth.roles import Role
from relaydesk.channels.base import InboundMessage
from relaydesk.channels.chat.pages import DEMO_SIGNED_IN_USER, DEMO_SITE_KEY, ensure_demo_site
from relaydesk.channels.intake import ingest
from relaydesk.classification import service as classification
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
from relaydesk.tickets.enums import AuthorKind, Channel
from relaydesk.tickets.events import Actor
from relaydesk.tickets.schemas import CustomerRef, TicketCreate
from relaydesk.triage.datasets import read_csv
from relaydesk.triage.training import TrainingSet, store_examples, train_head

__all__ = [
    "DEMO_PASSWORD",
    "HISTORY_PATH",
    "DemoSummary",
    "TriageModel",
    "bring_agents_online",
    "seed_demo",
    "seed_triage_model",
]

DEMO_PASSWORD = "relaydesk-demo"
# The demo brand's labelled history (written for the demo; see data/northwind/README.md).
HISTORY_PATH = Path(__file__).resolve().parents[3] / "data" / "northwind" / "triage_history.csv"
_SYSTEM = Actor(AuthorKind.SYSTEM)

TEAMS = [
    ("Frontline", "First answer on every channel", False),
    ("Orders & Shipping", "Where-is-my-order, delivery problems, address changes", False),
    ("Returns & Refunds", "Returns, exchanges, refunds", False),
    ("Billing & Disputes", "Charges, promo codes, payment disputes", False),
    ("Technical", "Site and app problems, account access", False),
    ("Legal & Compliance", "Legal threats, data requests, regulators", True),
]

# Skills are named after the triage categories they serve (the ABCD flows of data/northwind), so a
# ticket's category names the skill it needs; "escalations" and "legal" are skills beyond them.
# Working hours are in the agent's time zone; empty means always (the demo works at any hour).
ALWAYS: dict[str, list[str]] = {}
WEEKDAYS_9_TO_5 = {day: ["09:00-17:00"] for day in ("mon", "tue", "wed", "thu", "fri")}
# Capacity is in routing's weighted units (policies/routing.yaml, weights: a chat 2, a call 3, the rest
# 1): three chats, one call, a dozen emails. A call capacity below its weight would take no call at all.
CAPACITY = {"web_chat": 6, "in_app": 6, "email": 12, "web_form": 12, "sms": 6, "social": 6, "phone": 3}

AGENTS = [
    # email, name, role, tier, languages, teams, skills (level 1-5), time zone, working hours
    ("admin@northwind.example", "Ada Admin", Role.ADMIN, 6, ["en"], [], [], "UTC", ALWAYS),
    (
        "maria@northwind.example",
        "María López",
        Role.AGENT,
        1,
        ["en", "es"],
        ["Frontline"],
        [
            ("shipping_issue", 3),
            ("order_issue", 2),
            ("product_defect", 2),
            ("account_access", 2),
            ("storewide_query", 3),
        ],
        "Europe/Madrid",
        ALWAYS,
    ),
    (
        "sam@northwind.example",
        "Sam Carter",
        Role.AGENT,
        1,
        ["en"],
        ["Frontline", "Orders & Shipping"],
        [("shipping_issue", 4), ("order_issue", 3), ("storewide_query", 2)],
        "America/New_York",
        ALWAYS,
    ),
    (
        "lea@northwind.example",
        "Léa Martin",
        Role.AGENT,
        2,
        ["en", "fr"],
        ["Returns & Refunds"],
        [("product_defect", 4), ("order_issue", 2)],
        "Europe/Paris",
        ALWAYS,
    ),
    (
        "diego@northwind.example",
        "Diego Torres",
        Role.AGENT,
        2,
        ["es", "en"],
        ["Returns & Refunds", "Billing & Disputes"],
        [("product_defect", 3), ("purchase_dispute", 3), ("manage_account", 2)],
        "America/Mexico_City",
        ALWAYS,
    ),
    (
        "omar@northwind.example",
        "Omar Haddad",
        Role.AGENT,
        2,
        ["en", "ar"],
        ["Technical"],
        [("account_access", 4), ("troubleshoot_site", 4), ("manage_account", 3)],
        "Asia/Dubai",
        ALWAYS,
    ),
    (
        "kim@northwind.example",
        "Kim Nguyen",
        Role.LEAD,
        3,
        ["en", "vi"],
        ["Orders & Shipping", "Frontline"],
        [("shipping_issue", 5), ("order_issue", 4), ("escalations", 4)],
        "America/Los_Angeles",
        ALWAYS,
    ),
    (
        "jonas@northwind.example",
        "Jonas Weber",
        Role.AGENT,
        3,
        ["en", "de"],
        ["Billing & Disputes"],
        [("purchase_dispute", 5), ("manage_account", 3)],
        "Europe/Berlin",
        WEEKDAYS_9_TO_5,  # the one agent with office hours: routing passes him by outside them
    ),
    (
        "priya@northwind.example",
        "Priya Shah",
        Role.MANAGER,
        3,
        ["en", "hi"],
        ["Frontline"],
        [("escalations", 5)],
        "Asia/Kolkata",
        ALWAYS,
    ),
    (
        "grace@northwind.example",
        "Grace Okafor",
        Role.AGENT,
        3,
        ["en"],
        ["Legal & Compliance"],
        [("legal", 5), ("purchase_dispute", 3)],
        "Europe/London",
        ALWAYS,
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

# Identities on the other channels, so replies reach the customer where they wrote. Crystal is the
# shop's signed-in user on /chat/demo?signed_in=true (DEMO_SIGNED_IN_USER): her chat is in the widget.
CHAT_USERS = {0: DEMO_SIGNED_IN_USER, 4: "customer-1005"}
SOCIAL_ACCOUNTS = {3: "instagram:17841455500003"}

PRODUCTS = [
    ("MK-JEANS-32", "Michael Kors jeans", 9400),
    ("TH-BOOTS-10", "Tommy Hilfiger boots", 12900),
    ("CK-SHIRT-M", "Calvin Klein shirt", 5400),
    ("GU-JACKET-L", "Guess jacket", 18900),
    ("JC-SOCKS-3", "Jcrew socks (3 pack)", 1900),
]

# Filed as customers would write them: no category, priority or team (triage decides; "{order}" is
# the customer's first order number). Only the two an agent filed carry a team: the call taken by phone
# and the legal threat, filed into the restricted team. None of these texts is in the training file.
TICKETS = [
    # customer index, channel, subject, body, team, flags
    (
        0,
        Channel.WEB_CHAT,
        "Order hasn't arrived",
        "Hi, my order 3348917502 was supposed to arrive three days ago and tracking hasn't moved.",
        None,
        [],
    ),
    (
        1,
        Channel.EMAIL,
        "Wrong size jeans, want to exchange",
        "I got the wrong size jeans (32 instead of 34). Can I exchange them? Order 5523187720.",
        None,
        [],
    ),
    (
        2,
        Channel.SMS,
        "Charged twice for my jacket",
        "I was charged twice for the Guess jacket on order {order}. Please refund the duplicate charge "
        "today.",
        None,
        [],
    ),
    (
        3,
        Channel.SOCIAL,
        "No puedo entrar en mi cuenta",
        "Hola, olvidé mi contraseña y el correo de recuperación no llega.",
        None,
        [],
    ),
    (
        3,
        Channel.WEB_FORM,
        "Cambio de talla",
        "Las botas del pedido {order} me quedan grandes. ¿Puedo cambiarlas por una talla menos?",
        None,
        [],
    ),
    (
        4,
        Channel.IN_APP,
        "Promo code rejected at checkout",
        "The code WINTER20 says it is invalid but the email says it's valid until Sunday.",
        None,
        [],
    ),
    (
        5,
        Channel.EMAIL,
        "I will take legal action",
        "This is the third time my refund for order {order} was promised. If it's not resolved this week I "
        "will contact my lawyer and file a complaint with the consumer protection agency.",
        "Legal & Compliance",
        ["legal_threat"],
    ),
    (
        0,
        Channel.PHONE,
        "Callback: boots have a broken zip",
        "Customer called: the zip on the Tommy Hilfiger boots from order {order} broke after two days. "
        "Wants a replacement.",
        "Returns & Refunds",
        [],
    ),
]


@dataclass(frozen=True)
class TriageModel:
    """The category model trained at this start: what ``relaydesk demo`` prints."""

    name: str
    examples: int
    labels: int
    accuracy: float | None  # cross-validated on the training file (out-of-fold)
    seconds: float


@dataclass
class DemoSummary:
    logins: list[tuple[str, str, str]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    already_seeded: bool = False
    triage_model: TriageModel | None = None  # None: the head already had an active model
    online: int = 0  # demo agents brought online


def seed_demo(session: Session, *, seed: int = 7) -> DemoSummary:
    """Idempotent: a database that already holds the demo admin keeps its data; its agents come online."""
    # First, while this transaction has written nothing: training holds no write lock on SQLite.
    model = seed_triage_model(session)
    seed_chat(session)  # idempotent on its own, so older demo databases get the chat site too
    seed_knowledge(session)  # idempotent too (upserts by external id)
    summary = DemoSummary(triage_model=model)
    rng = random.Random(seed)
    if agents.agent_by_email(session, AGENTS[0][0]) is not None:
        summary.already_seeded = True
        summary.logins = [(a[0], DEMO_PASSWORD, a[2].value) for a in AGENTS]
        summary.online = bring_agents_online(session)
        return summary

    team_ids: dict[str, int] = {}
    for name, description, restricted in TEAMS:
        # The specialist teams overflow to Frontline when their queue waits too long.
        parent = team_ids.get("Frontline") if name not in ("Frontline", "Legal & Compliance") else None
        team = agents.create_team(
            session, TeamCreate(name=name, description=description, restricted=restricted, parent_id=parent)
        )
        team_ids[name] = team.id

    agent_ids = {}
    for email, name, role, tier, languages, teams, skills, timezone, hours in AGENTS:
        agent = agents.create_agent(
            session,
            AgentCreate(
                email=email,
                name=name,
                password=DEMO_PASSWORD,
                role=role,
                tier_level=tier,
                languages=languages,
                capacity=dict(CAPACITY),
                timezone=timezone,
                working_hours=hours,
                team_ids=[team_ids[t] for t in teams],
                skills=[SkillIn(skill=s, level=lvl) for s, lvl in skills],
            ),
        )
        agent_ids[email] = agent.id
        summary.logins.append((email, DEMO_PASSWORD, role.value))
    summary.online = bring_agents_online(session)

    customer_ids: list[int] = []
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
                    *_channel_identities(len(customer_ids)),
                ],
            ),
        )
        customer_ids.append(customer.id)

    now = utcnow()
    order_count = 0
    first_order: dict[int, str] = {}
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
            first_order.setdefault(index, number)
            order_count += 1

    ticket_count = 0
    for cust, channel, subject, body, team_name, flags in TICKETS:
        text = body.format(order=first_order[cust])
        if team_name is None:
            # A customer's message arrives as its channel's adapter hands it over: intake stores it and
            # enqueues triage.process_inbound, which the worker runs like for any other message.
            ingest(session, _inbound(cust, channel, subject, text, ticket_count))
        else:
            # Filed by an agent as POST /api/v1/tickets files it: opened, then triaged the same way.
            tickets.file_ticket(
                session,
                TicketCreate(
                    subject=subject,
                    body=text,
                    customer=CustomerRef(id=customer_ids[cust]),
                    channel=channel,
                    team_id=team_ids[team_name],
                    flags=flags,
                ),
                _SYSTEM,
            )
        ticket_count += 1

    summary.counts = {
        "teams": len(team_ids),
        "agents": len(agent_ids),
        "customers": len(customer_ids),
        "orders": order_count,
        "tickets": ticket_count,
    }
    return summary


def _channel_identities(customer: int) -> list[IdentityIn]:
    found = []
    if customer in CHAT_USERS:
        value = f"{DEMO_SITE_KEY}:{CHAT_USERS[customer]}"  # how the chat site names a signed-in user
        found.append(IdentityIn(kind=IdentityKind.EXTERNAL_ID, value=value, verified=True))
    if customer in SOCIAL_ACCOUNTS:
        found.append(IdentityIn(kind=IdentityKind.SOCIAL, value=SOCIAL_ACCOUNTS[customer], verified=True))
    return found


def _inbound(customer: int, channel: Channel, subject: str, text: str, number: int) -> InboundMessage:
    """The message as the channel's adapter would hand it to intake (identity, proof, provider id)."""
    name, _tier, _language, email, phone, _level = CUSTOMERS[customer]
    kind, value, proven = {
        # A signed-in widget or app user, a signed SMS or social webhook: proven identities.
        Channel.WEB_CHAT: (IdentityKind.EXTERNAL_ID, f"{DEMO_SITE_KEY}:{CHAT_USERS.get(customer)}", True),
        Channel.IN_APP: (IdentityKind.EXTERNAL_ID, f"{DEMO_SITE_KEY}:{CHAT_USERS.get(customer)}", True),
        Channel.SMS: (IdentityKind.PHONE, phone, True),
        Channel.SOCIAL: (IdentityKind.SOCIAL, SOCIAL_ACCOUNTS.get(customer, ""), True),
        # Plain email and the contact form prove nothing: each opens a ticket of its own.
        Channel.EMAIL: (IdentityKind.EMAIL, email, False),
        Channel.WEB_FORM: (IdentityKind.EMAIL, email, False),
    }[channel]
    return InboundMessage(
        channel=channel,
        identity_kind=kind,
        identity_value=value,
        identity_verified=proven,
        identity_proven=proven,
        display_name=name,
        text=text,
        subject=subject,
        provider_message_id=f"demo-seed-{number}",
    )


def bring_agents_online(session: Session) -> int:
    """Every demo agent (the admin aside) online, at each start: routing offers work to them at once."""
    online = 0
    for email, *_ in AGENTS[1:]:
        agent = agents.agent_by_email(session, email)
        if agent is not None and agent.active:
            agents.set_status(agent, AgentStatus.ONLINE)
            online += 1
    session.flush()
    return online


def seed_triage_model(session: Session) -> TriageModel | None:
    """The demo brand's category model, trained from its labelled history as any installation trains one.

    The same path as ``relaydesk triage train --head category --data data/northwind/triage_history.csv
    --activate`` (a version trained, registered and activated through the classification registry),
    then the examples are kept as imported history (``relaydesk triage import``), so retraining learns
    from them beside resolved tickets and agent corrections. The recipe is the fast one (word and character
    TF-IDF under the calibrated linear SVM, no sentence embedding or fine-tuning), so a first start
    trains in seconds; ``relaydesk triage train`` retrains with the full recipe. Skipped when the head
    already has an active model, so a warm start trains nothing. None without the repository's data.
    """
    head = classification.get_head(session, "category")
    if head is not None and head.active_version_id is not None:
        return None
    if not HISTORY_PATH.exists():  # an installed wheel without the repository's data folder
        return None
    started = time.perf_counter()
    read = read_csv(HISTORY_PATH, text_column="text", label_column="label")
    read.raise_if_problems()
    data = TrainingSet("category")
    for example in read.examples:
        data.add(example.text, example.label, "file")
    version = train_head(
        session,
        data,
        source=f"file:{HISTORY_PATH.name}",
        activate=True,
        options=classification.TrainingOptions(use_embeddings=False, fine_tune_layers=0),
    )
    # Kept as imported history only now, after training: storing is the transaction's first write.
    store_examples(session, "category", read.examples)
    metrics = version.metrics or {}
    return TriageModel(
        name=version.name,
        examples=len(data.texts),
        labels=len(set(data.labels)),
        accuracy=metrics.get("accuracy"),
        seconds=round(time.perf_counter() - started, 1),
    )


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
