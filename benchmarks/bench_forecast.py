"""Speed of forecasting (run on demand: `make bench-forecast`).

Backtests (4 rolling windows of 13 weeks), chooses a method per family and forecasts a
year ahead for 1,000 weekly SKU x market series of 3 years, the reference network's five
demand families repeated (25 copies of the 40 reference SKUs' histories, each from one
reference market, with that market's promotion calendar). Reports, with the machine it ran on:

- cold: a fresh interpreter, imports and statsforecast's first calls included;
- warm: the same run again in the same process;
- warm with ``refit_final``: ETS and MSTL refitted on the whole history for the final
  forecast instead of carried forward from the last backtest origin.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

RUN = """
import time
t0 = time.perf_counter()
import pandas as pd
from twin.scenario import load_scenario
from twin.demand.forecast import forecast_network
net = load_scenario("{scenario}").network
hist = net.demand_history.reset_index()
promos = net.promotions.reset_index()
# 1,000 series: every SKU's history in 25 markets (the reference has 12 per SKU), each
# with its source market's promotion calendar
markets = sorted(hist["market"].unique())
copies, calendars = [], []
for k in range(25):
    source = markets[k % len(markets)]
    copies.append(hist[hist["market"] == source].assign(market=f"B{{k:02d}}"))
    calendars.append(promos[promos["market"] == source].assign(market=f"B{{k:02d}}"))
big = pd.concat(copies).set_index(["sku", "market", "week"]).sort_index()
from dataclasses import replace
net = replace(net, demand_history=big,
              promotions=pd.concat(calendars).set_index(["sku", "market", "week"]).sort_index())
series = big.groupby(level=["sku", "market"]).ngroups
t1 = time.perf_counter()
forecast_network(net, 52)
t2 = time.perf_counter()
forecast_network(net, 52)
t3 = time.perf_counter()
forecast_network(net, 52, refit_final=True)
t4 = time.perf_counter()
print({{"series": series, "seconds_setup": t1 - t0, "seconds_cold": t2 - t0, "seconds_warm": t3 - t2,
       "seconds_warm_refit_final": t4 - t3}})
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenario", default=str(ROOT / "scenarios" / "baseline.yaml"))
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from bench_sim import machine

    started = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", RUN.format(scenario=args.scenario)], capture_output=True,
                         text=True, check=True, cwd=ROOT)
    result = dict(machine=machine(), **eval(out.stdout.strip().splitlines()[-1]),  # our own dict literal
                  seconds_process=time.perf_counter() - started)
    print(json.dumps(result, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
