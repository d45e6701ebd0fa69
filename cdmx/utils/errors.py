"""The one exception cdmx raises for bad input.

Every message is one sentence that names the problem and the fix; the tools print it without a
traceback (see :func:`cdmx.utils.cli.run_cli`).
"""


class CdmxError(ValueError):
    """Bad input (config, data, weights, split): one sentence naming the problem and the fix."""
