"""The one /proc reading the benches share: a running process's peak resident set."""
import time


def peak_rss_until_exit(p, interval):
    """The largest `VmHWM` of the running process `p` (a `subprocess.Popen`), in bytes, read
    every `interval` seconds until it exits. Polling costs CPU: keep it out of timed runs."""
    hwm = 0
    while p.poll() is None:
        try:
            with open(f"/proc/{p.pid}/status") as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        hwm = max(hwm, int(line.split()[1]) * 1024)
        except OSError:
            pass
        time.sleep(interval)
    return hwm
