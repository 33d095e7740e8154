"""Agents, teams, skills and capacity: the people tickets are routed to."""
