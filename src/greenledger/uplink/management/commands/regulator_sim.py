"""``greenledger regulator-sim --port N``: run the regulator platform simulator (see ``uplink.simulator``).

The configuration (apps with their secret and public key, the simulator's own keys) is the JSON
file ``greenledger demo`` writes to ``<data dir>/regulator-sim/config.json``; ``--config`` names another.
"""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from greenledger.uplink.simulator import RegulatorSimulator, load_config


def default_config():
    return Path(settings.DATA_DIR) / "regulator-sim" / "config.json"


class Command(BaseCommand):
    help = "Run a regulator platform simulator (generic profile) for demos, tests and benchmarks."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=8765)
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--config", default="", help="JSON configuration (default: the demo's)")
        parser.add_argument("--outage-after", type=int, default=None, help="fail every request after N records")
        parser.add_argument("--fail-rate", type=float, default=0.0, help="share of requests answered 500")
        parser.add_argument("--malformed-rate", type=float, default=0.0, help="share answered with a non-JSON body")
        parser.add_argument("--slow-ms", type=int, default=0, help="delay every reply")
        parser.add_argument("--token-ttl", type=int, default=None, help="token lifetime in seconds")

    def handle(self, *args, **options):
        path = Path(options["config"]) if options["config"] else default_config()
        if not path.exists():
            raise CommandError(f"{path} does not exist: run `greenledger demo` first or pass --config")
        state = load_config(path)
        state.switches.update(outage_after=options["outage_after"], fail_rate=options["fail_rate"],
                              malformed_rate=options["malformed_rate"], slow_ms=options["slow_ms"])
        if options["token_ttl"]:
            state.token_ttl = options["token_ttl"]
        simulator = RegulatorSimulator(state, options["host"], options["port"])
        self.stdout.write(f"regulator simulator on {simulator.url} (apps: {', '.join(state.apps)}); "
                          f"switches: POST {simulator.url}/_admin/switches")
        self.stdout.flush()
        try:
            simulator.serve()
        except KeyboardInterrupt:
            pass
