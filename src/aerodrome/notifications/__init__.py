"""Notifications and the event stream: outbox rows written with each event, delivered by a dispatcher."""
