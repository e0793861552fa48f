"""Project configuration: settings, URLs, the Celery app, and the Redis connection the busiest
paths share (`redis_connection`). Any app may import from here; config imports apps only to
route URLs and load them."""

from config.celery import app as celery_app

__all__ = ("celery_app",)
