"""Tables of the commerce domain: a small order and shipment store."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from relaydesk.commerce.enums import OrderStatus, ShipmentStatus
from relaydesk.db import Base, IdMixin, JSONType, TimestampMixin, enum_column

__all__ = ["Order", "OrderStatus", "Shipment", "ShipmentStatus"]


class Order(IdMixin, TimestampMixin, Base):
    __tablename__ = "orders"

    order_number: Mapped[str] = mapped_column(String(40), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    status: Mapped[OrderStatus] = mapped_column(enum_column(OrderStatus), default=OrderStatus.PLACED)
    placed_at: Mapped[datetime]
    total_cents: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    # [{"sku", "name", "quantity", "price_cents"}]
    items: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)

    shipments: Mapped[list[Shipment]] = relationship(
        back_populates="order", cascade="all, delete-orphan", lazy="selectin"
    )


class Shipment(IdMixin, TimestampMixin, Base):
    __tablename__ = "shipments"

    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    carrier: Mapped[str] = mapped_column(String(80))
    tracking_number: Mapped[str] = mapped_column(String(80), unique=True)
    status: Mapped[ShipmentStatus] = mapped_column(enum_column(ShipmentStatus))
    estimated_delivery: Mapped[date | None] = mapped_column(Date)
    last_event: Mapped[str] = mapped_column(String(500), default="")

    order: Mapped[Order] = relationship(back_populates="shipments")
