"""Summary tables of the one-screen view (一屏总览): a daily rollup, so trends cost the same at any
history size. The tables are derived: ``manage.py dashboard_rollup --rebuild`` recreates them."""

from django.db import models


class DailyCount(models.Model):
    """How many of ``metric`` happened on one local (Asia/Shanghai) ``day``, split by district,
    organisation, risk and a metric-specific ``key`` (hour of day, stage and duration bucket...).

    ``district`` is the district's materialised region path ("330500/330502/"), "" when unknown;
    ``organisation`` an organisation id, 0 for none (no foreign key: rebuilt in bulk, and an
    organisation is never deleted while it has history).
    """

    day = models.DateField()
    metric = models.CharField(max_length=20)
    district = models.CharField(max_length=14, blank=True)
    organisation = models.IntegerField(default=0)
    risk = models.CharField(max_length=10, blank=True)
    key = models.CharField(max_length=40, blank=True)
    n = models.IntegerField()

    class Meta:
        indexes = [
            # Covering: a year of a metric is read from the index alone (the rows of one day
            # lie all over the table, written metric by metric).
            models.Index(
                fields=["metric", "day", "district", "organisation", "risk", "key", "n"],
                name="dailycount_metric_day",
            )
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.metric} {self.key} {self.n}"


class RollupMark(models.Model):
    """The last local day the rollup holds complete (``through``), and the instant up to which
    it holds the day after it (``until``, the intraday refresh); later rows are read live."""

    name = models.CharField(max_length=20, primary_key=True)
    through = models.DateField()
    until = models.DateTimeField(null=True, blank=True)
    refreshed_at = models.DateTimeField()
    # The month-so-far sums (``rollup.MONTH_TO_DATE``) are stored for ``through``.
    month_to_date = models.BooleanField(default=False)

    def __str__(self) -> str:
        return f"{self.name} through {self.through}"
