"""The live day's own pieces, beside the backtest's: the minute gate (when a step runs) and the tape (the
frames a live day received, as events and back).

- `gate`: `MinuteGate`, pure and clock-driven: from frames with arrival times, which minute steps when, with
  which bars and which gaps, and what arrived too late to step;
- `tape`: `TapeRecorder` (frames and stream notices to the tape's events) and `play_tape` (the events back to
  frames at their recorded arrival times on a simulated clock).

Neither talks to a feed: they read `marketdata.live.frames` records only.
"""
