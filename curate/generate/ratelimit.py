"""Client-side rate limits: token buckets for requests and tokens per minute, plus a shared pause.

Buckets hold ten seconds' worth of budget (bursts stay small, as servers enforce limits over sub-minute
windows) and refill continuously. The token bucket reserves an estimate before a request (prompt estimate +
max_tokens, as OpenAI counts it) and settles the real usage after, so the long-run rate matches the limit.
A 429 with Retry-After pauses every worker, not just the one that got it."""

from __future__ import annotations

import asyncio
import time

BURST_SECONDS = 10.0


class TokenBucket:
    def __init__(self, per_minute: float):
        self.rate = per_minute / 60.0
        self.capacity = max(1.0, self.rate * BURST_SECONDS)
        self.tokens = self.capacity
        self.t = time.monotonic()

    def _refill(self) -> None:
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.t) * self.rate)
        self.t = now

    def wait_time(self, n: float) -> float:
        """Seconds until `n` (clamped to the capacity) is available; 0 when it is now."""
        self._refill()
        n = min(n, self.capacity)
        return 0.0 if self.tokens >= n else (n - self.tokens) / self.rate

    def take(self, n: float) -> None:
        self._refill()
        self.tokens -= min(n, self.capacity)

    def settle(self, reserved: float, actual: float) -> None:
        """Replace a reservation by the real amount (may go negative: later requests wait longer)."""
        self._refill()
        self.tokens = min(self.capacity, self.tokens + min(reserved, self.capacity) - actual)


class Limiter:
    def __init__(self, rpm: float | None, tpm: float | None):
        self.requests = TokenBucket(rpm) if rpm else None
        self.tokens = TokenBucket(tpm) if tpm else None
        self.paused_until = 0.0

    def pause(self, seconds: float) -> None:
        self.paused_until = max(self.paused_until, time.monotonic() + seconds)

    async def acquire(self, est_tokens: float, deadline: float) -> None:
        """Wait for a request slot and `est_tokens`; returns at `deadline` (monotonic) at the latest."""
        while True:
            wait = self.paused_until - time.monotonic()
            for b, n in ((self.requests, 1), (self.tokens, est_tokens)):
                if b is not None:
                    wait = max(wait, b.wait_time(n))
            if wait <= 0 or time.monotonic() >= deadline:
                break
            # no await between the check above and take() below: buckets are only touched on this thread
            await asyncio.sleep(min(wait, max(0.0, deadline - time.monotonic()), 5.0))
        if self.requests is not None:
            self.requests.take(1)
        if self.tokens is not None:
            self.tokens.take(est_tokens)

    def settle(self, est_tokens: float, actual_tokens: float) -> None:
        if self.tokens is not None:
            self.tokens.settle(est_tokens, actual_tokens)
