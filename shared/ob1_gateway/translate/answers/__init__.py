"""The upstream's answer made into blocks, shared by the Anthropic and Responses paths: the stream state machine
(``sequencer``), finish reasons and stop sequences (``finish``), reasoning into thinking blocks (``reasoning``)."""
