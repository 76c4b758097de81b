"""Schemathesis hooks for the gateway's fuzzing run (loaded through SCHEMATHESIS_HOOKS).

The run replaces schemathesis' `not_a_server_error` with the rule the gateway holds to: no answer of 500 or
more, except 503 for a network whose nodes cannot be reached from here (mainnet and the other public networks
in the default config), and that 503 must say so.
"""

import schemathesis


@schemathesis.check
def no_server_error_but_unreachable_nodes(ctx, response, case):
    status = response.status_code
    if status < 500:
        return None
    if status == 503:
        try:
            code = response.json().get("code")
        except Exception:
            code = None
        if code == "RPC_UNREACHABLE":
            return None
    raise AssertionError(f"answered {status}: {response.text[:300]}")
