"""Domain services: plain functions taking (session, ..., actor, now); they flush, never commit."""
