"""Background work for the catalogue (thin: each task calls one service)."""

from celery import shared_task

from locator import services
from locator.models import GridDirtyCell


@shared_task(bind=True, max_retries=None)
def catalogue_grid_refresh(self) -> int:  # type: ignore[no-untyped-def]
    """Refresh cluster-grid cells that catalogue writes marked dirty. Safe to run twice; when
    another refresh holds the lock, try again in a few seconds (its cells may be newer)."""
    done = services.catalogue_grid_refresh_dirty()
    if done is None:
        raise self.retry(countdown=5)
    if GridDirtyCell.objects.exists():
        # More was marked while we worked (a long pull): go round again.
        catalogue_grid_refresh.apply_async(countdown=services.grid_refresh_delay())
    return done
