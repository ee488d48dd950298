"""The failure budget: when a batch stops submitting variants, so that a broken model does not
burn a night of compute."""

from dataclasses import dataclass, field

from epbatch.results.records import VariantResult

MIN_FIRST = 3  # the first max(3, 10 % of the batch) finished variants...
MIN_ENDED = 10  # ...and the failed share once at least this many ended
MAX_MESSAGE = 300  # characters of the shared message quoted in the reason


def _same_message(error: str | None) -> str:
    """Error texts compared as the same message: whitespace collapsed."""
    return " ".join((error or "").split())


def _quoted(message: str) -> str:
    return message if len(message) <= MAX_MESSAGE else message[: MAX_MESSAGE - 1] + "…"


@dataclass
class FailureBudget:
    """Fed each finished variant's record (cached ones too); says when to stop, and why.

    Stop when the first ``max(3, ⌈10 % of total⌉)`` finished variants all failed with the same
    message, or when more than ``share`` of the finished variants failed, once at least 10 did
    (``share`` 1 never stops). The first rule tripped is kept.
    """

    total: int
    share: float = 0.5
    ended: int = 0
    failed: int = 0
    reason: str | None = None
    _first_message: str | None = field(default=None, repr=False)  # None: not all the same

    @property
    def first(self) -> int:
        """How many of the first finished variants the same-message rule looks at."""
        return max(MIN_FIRST, -(-self.total // 10))

    def add(self, result: VariantResult) -> str | None:
        """Count a finished variant; the stop reason once a rule is broken, else ``None``."""
        self.ended += 1
        self.failed += int(result.status == "failed")
        if self.reason is None:
            self.reason = self._same_failures(result) or self._over_budget()
        return self.reason

    def _same_failures(self, result: VariantResult) -> str | None:
        if self.ended > self.first:
            return None
        message = _same_message(result.error) if result.status == "failed" else None
        if self.ended == 1:
            self._first_message = message
        elif message != self._first_message:
            self._first_message = None
        if self.ended < self.first or self._first_message is None:
            return None
        return (
            f"stopped: the first {self.first} finished variants all failed with the same "
            f"message: {_quoted(self._first_message)}"
        )

    def _over_budget(self) -> str | None:
        if self.ended < MIN_ENDED or self.failed / self.ended <= self.share:
            return None
        return (
            f"stopped: {self.failed} of {self.ended} finished variants failed "
            f"(failure_budget {self.share:g})"
        )
