"""gunicorn's settings for production: `gunicorn -c config/gunicorn.conf.py config.wsgi`.

Threaded workers (gthread) keep a client's connection open between its requests, where sync
workers close each one after answering (a partner pushing statuses, or our proxy, reconnected
for every request), and one thread's wait on PostgreSQL or Redis lets another run. Each thread
has its own database connection (Django's are per thread): workers x threads of them (16),
kept for DATABASE_CONN_MAX_AGE seconds, so PostgreSQL's max_connections must allow that many
per web host (plus Celery's). What the code remembers per process (known partners, known
EVSEs) and the shared Redis client are safe to use from several threads.

Command-line options override these (`--bind 0.0.0.0:8000`, `--workers 8`).
"""

bind = "127.0.0.1:8000"
workers = 4
worker_class = "gthread"
threads = 4
# Idle connections wait in the worker's selector, not in a thread; a proxy that keeps its
# upstream connections open (nginx: `keepalive` in the upstream block) reuses them.
keepalive = 30
timeout = 30
