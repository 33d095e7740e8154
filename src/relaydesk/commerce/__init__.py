"""The brand's orders and shipments, which bot flows look up (track an order, start a return)."""
