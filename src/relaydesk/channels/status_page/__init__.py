"""The customer's status page: a signed link in every update, a page with the ticket's state and
public conversation, and a reply form that goes through intake."""
