"""`airflow.utils.dates`: `days_ago`, which Airflow 2 files still use. Its date
is written as a relative start date (`N days` ago, resolved when the version is
made), so evaluating the file twice gives the same DAG."""

import datetime


class _DaysAgo(datetime.datetime):
    def _kairos_ref(self):
        return "%d days" % self._kairos_days


def days_ago(n, hour=0, minute=0, second=0, microsecond=0):
    today = datetime.datetime.now(datetime.timezone.utc).replace(
        hour=hour, minute=minute, second=second, microsecond=microsecond)
    at = today - datetime.timedelta(days=n)
    made = _DaysAgo(at.year, at.month, at.day, at.hour, at.minute, at.second,
                    at.microsecond, tzinfo=at.tzinfo)
    made._kairos_days = n
    return made
