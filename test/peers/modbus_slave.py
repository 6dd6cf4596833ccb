#!/usr/bin/python3
"""Modbus slave test peer on pymodbus 3.0 (Debian python3-pymodbus).

Run with Debian's interpreter (/usr/bin/python3): the python3 on PATH lacks the package.

    /usr/bin/python3 modbus_slave.py --spec FILE (--tcp PORT | --rtu TTY [--baud 9600])

Spec: {"units": {"1": {"holding": {"0": 17, "10": [1, 2]}, "input": {}, "coil": {"0": true}, "discrete": {}}}}
Addresses are plain 0-based. Only mapped addresses exist: a read touching an unmapped one gets exception 2
(illegal data address). A unit id that is not in the spec never answers.

Control: line-delimited JSON on stdin, one JSON line answered on stdout per command:
    {"cmd":"requests"}  -> {"requests":[{"unit":1,"fc":3,"address":0,"count":10,"t":<monotonic ms>}], "ignored":[...]}
    {"cmd":"reset"}     -> {"ok":true}      (clears both logs)
    {"cmd":"set","unit":1,"table":"holding","address":5,"values":[1,2]} -> {"ok":true}
    {"cmd":"get","unit":1,"table":"holding","address":5,"count":2} -> {"values":[1,2]}
    {"cmd":"freeze","unit":1,"table":"holding","addresses":[5]} -> {"ok":true}   (writes there are acknowledged
        and ignored, like a device that keeps its own limit; an empty list thaws the table)
    {"cmd":"delay","ms":N} -> {"ok":true}   (every response waits N ms)
    {"cmd":"misbehave","mode":M} -> {"ok":true}   (every response from now on, until mode null):
        "partial"     sends the first half of the frame, then stalls (a device hanging mid-frame)
        "wrong_unit"  answers as the next unit id (a valid frame, CRC included, from the wrong device)
        "bad_crc"     flips the last byte (the CRC on RTU; on TCP the last data byte)
Prints {"event":"ready"} once listening (with "port" for TCP; --tcp 0 picks a free one). Exits on SIGTERM, SIGINT or stdin EOF.
"""
import argparse
import asyncio
import json
import logging
import signal
import sys
import time

from pymodbus.datastore import (
    ModbusServerContext,
    ModbusSlaveContext,
    ModbusSparseDataBlock,
)
from pymodbus.exceptions import NoSuchSlaveException
from pymodbus.server.async_io import (
    ModbusConnectedRequestHandler,
    ModbusSerialServer,
    ModbusSingleRequestHandler,
    ModbusTcpServer,
)
from pymodbus.transaction import ModbusRtuFramer, ModbusSocketFramer

# Table name in the spec -> key of ModbusSlaveContext.store.
TABLES = {"coil": "c", "discrete": "d", "holding": "h", "input": "i"}
BIT_TABLES = ("coil", "discrete")
ALL_UNITS = list(range(0, 256))


class State:
    """Request logs and knobs shared by every connection."""

    def __init__(self):
        self.requests = []
        self.ignored = []
        self.delay_s = 0.0
        self.misbehave = None


MISBEHAVIOURS = ("partial", "wrong_unit", "bad_crc")


STATE = State()


def now_ms():
    return round(time.monotonic() * 1000, 3)


def check_values(table, values):
    """Reject values pymodbus would fail to encode later (it would drop the TCP connection instead)."""
    out = []
    for value in values:
        if table in BIT_TABLES:
            if value not in (True, False, 0, 1):
                raise ValueError(f"{table} value must be a boolean, got {value!r}")
            out.append(bool(value))
        else:
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 0xFFFF:
                raise ValueError(f"{table} value must be an integer 0..65535, got {value!r}")
            out.append(value)
    return out


def make_block(table, mapping):
    values = {}
    for key, raw in (mapping or {}).items():
        address = int(key)
        items = check_values(table, raw if isinstance(raw, list) else [raw])
        for offset, value in enumerate(items):
            values[address + offset] = value
    # Not ModbusSparseDataBlock(values): its constructor int()s scalars and keeps `address` None for an
    # empty dict; an empty block then answers every address with exception 2, which is what we want.
    block = ModbusSparseDataBlock()
    if values:
        block.setValues(0, values)
    return block


class UnitContext(ModbusSlaveContext):
    """A unit whose writes (the only caller of setValues besides the control's "set", which goes to the blocks
    directly) skip the frozen addresses."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.frozen = {key: set() for key in TABLES.values()}

    def setValues(self, fc_as_hex, address, values):
        frozen = self.frozen[self.decode(fc_as_hex)]
        for offset, value in enumerate(values):
            if address + offset not in frozen:
                super().setValues(fc_as_hex, address + offset, [value])


def make_unit(spec):
    spec = spec or {}
    unknown = set(spec) - set(TABLES)
    if unknown:
        raise ValueError(f"unknown table(s) {sorted(unknown)}; expected {sorted(TABLES)}")
    # zero_mode=True: the default (False) shifts every address by one.
    return UnitContext(
        co=make_block("coil", spec.get("coil")),
        di=make_block("discrete", spec.get("discrete")),
        hr=make_block("holding", spec.get("holding")),
        ir=make_block("input", spec.get("input")),
        zero_mode=True,
    )


class AllUnitsContext(ModbusServerContext):
    """Lets the framer pass every unit id through to execute(), so requests to absent units are logged
    (as ignored) before they go unanswered. The framer would otherwise drop them silently."""

    def slaves(self):
        return list(ALL_UNITS)


def describe(request):
    address = getattr(request, "address", None)
    count = getattr(request, "count", None)
    if count is None:
        # Write-single requests carry a value, write-multiple-coils a list; no address at all: count 0.
        values = getattr(request, "values", None)
        count = len(values) if isinstance(values, list) else (1 if address is not None else 0)
    return {
        "unit": request.unit_id,
        "fc": request.function_code,
        "address": address if address is not None else 0,
        "count": count,
        "t": now_ms(),
    }


def traced(base):
    """A request handler that logs each decoded request exactly once (execute() runs once per frame,
    whereas validate/getValues may run several times) and applies the response delay."""

    class Traced(base):
        def execute(self, request, *addr):
            entry = describe(request)
            if request.unit_id not in self.server.context._slaves:  # pylint: disable=protected-access
                # No response at all: the master times out, like a missing device on a bus.
                STATE.ignored.append(entry)
                return
            STATE.requests.append(entry)
            if STATE.delay_s > 0:
                # call_later keeps FIFO order for equal delays, so responses stay in request order.
                asyncio.get_running_loop().call_later(STATE.delay_s, self._late_execute, request, addr)
            else:
                super().execute(request, *addr)

        def send(self, message, *addr, **kwargs):
            mode = STATE.misbehave
            if mode is None or kwargs.get("skip_encoding") or not message.should_respond:
                super().send(message, *addr, **kwargs)
                return
            if mode == "wrong_unit":
                message.unit_id = message.unit_id % 247 + 1
                super().send(message, *addr, **kwargs)
                return
            packet = self.framer.buildPacket(message)
            if mode == "partial":
                packet = packet[: max(1, len(packet) // 2)]
            else:
                packet = packet[:-1] + bytes([packet[-1] ^ 0xFF])
            super().send(packet, *addr, skip_encoding=True)

        def _late_execute(self, request, addr):
            if not self.running:
                return  # the connection went away while we were "slow"
            try:
                super().execute(request, *addr)
            except Exception as exc:  # pylint: disable=broad-except
                logging.error("late response failed: %s", exc)

    return Traced


def reply(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def run_command(context, line):
    msg = json.loads(line)
    cmd = msg.get("cmd")
    if cmd == "requests":
        return {"requests": STATE.requests, "ignored": STATE.ignored}
    if cmd == "reset":
        STATE.requests = []
        STATE.ignored = []
        return {"ok": True}
    if cmd == "delay":
        ms = msg.get("ms")
        if not isinstance(ms, (int, float)) or ms < 0:
            raise ValueError("delay needs ms >= 0")
        STATE.delay_s = ms / 1000.0
        return {"ok": True}
    if cmd == "misbehave":
        mode = msg.get("mode")
        if mode is not None and mode not in MISBEHAVIOURS:
            raise ValueError(f"misbehave mode must be one of {MISBEHAVIOURS} or null, got {mode!r}")
        STATE.misbehave = mode
        return {"ok": True}
    if cmd == "set":
        table = msg.get("table")
        if table not in TABLES:
            raise ValueError(f"unknown table {table!r}")
        unit = int(msg["unit"])
        address = int(msg["address"])
        values = check_values(table, msg.get("values"))
        slaves = context._slaves  # pylint: disable=protected-access
        if unit not in slaves:
            slaves[unit] = make_unit({})  # a unit appears on the bus
        # Sparse blocks are mutable: setting an unmapped address maps it.
        slaves[unit].store[TABLES[table]].setValues(address, values)
        return {"ok": True}
    if cmd in ("get", "freeze"):
        table = msg.get("table")
        if table not in TABLES:
            raise ValueError(f"unknown table {table!r}")
        unit = context._slaves.get(int(msg["unit"]))  # pylint: disable=protected-access
        if unit is None:
            raise ValueError(f"no unit {msg['unit']}")
        if cmd == "freeze":
            unit.frozen[TABLES[table]] = {int(a) for a in msg.get("addresses", [])}
            return {"ok": True}
        block = unit.store[TABLES[table]]
        values = block.getValues(int(msg["address"]), int(msg.get("count", 1)))
        return {"values": [bool(v) if table in BIT_TABLES else int(v) for v in values]}
    raise ValueError(f"unknown cmd {cmd!r}")


async def control_loop(context, stop):
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while True:
        line = await reader.readline()
        if not line:
            break  # EOF: the test runner went away
        line = line.strip()
        if not line:
            continue
        try:
            reply(run_command(context, line))
        except Exception as exc:  # pylint: disable=broad-except
            reply({"ok": False, "error": str(exc)})
    stop.set()


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--spec", required=True)
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--tcp", type=int, metavar="PORT")
    mode.add_argument("--rtu", metavar="TTY")
    parser.add_argument("--baud", type=int, default=9600)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--debug", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.WARNING, stream=sys.stderr)
    if not args.debug:
        # pymodbus logs ERROR for routine events (every client disconnect, every exception response).
        logging.getLogger("pymodbus").setLevel(logging.CRITICAL)

    with open(args.spec, encoding="utf-8") as fh:
        spec = json.load(fh)
    slaves = {int(uid): make_unit(unit) for uid, unit in spec.get("units", {}).items()}
    context = AllUnitsContext(slaves=slaves, single=False)

    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    # Servers are driven directly: pymodbus 3.0's StartAsync* helpers hide the listening moment, and
    # ModbusTcpServer.server_close() crashes on attributes only the UDP server has.
    if args.tcp is not None:
        server = ModbusTcpServer(
            context,
            ModbusSocketFramer,
            None,
            (args.host, args.tcp),
            handler=traced(ModbusConnectedRequestHandler),
            allow_reuse_address=True,
            ignore_missing_slaves=True,
        )
        serve = asyncio.create_task(server.serve_forever())
        await asyncio.wait({serve, asyncio.ensure_future(server.serving)}, return_when=asyncio.FIRST_COMPLETED)
        if serve.done():
            serve.result()  # raises the bind error
    else:
        server = ModbusSerialServer(
            context,
            ModbusRtuFramer,
            port=args.rtu,
            baudrate=args.baud,
            handler=traced(ModbusSingleRequestHandler),
            ignore_missing_slaves=True,
            # Survive an unplug (socat killed): reopen the tty path once it is back.
            auto_reconnect=True,
            reconnect_delay=0.2,
        )
        await server.start()  # raises if the port cannot be opened
        serve = None

    control = asyncio.create_task(control_loop(context, stop))
    if serve is not None:
        # --tcp 0 lets the OS pick a port (no probe-then-bind race); tell the caller which.
        reply({"event": "ready", "port": server.server.sockets[0].getsockname()[1]})
    else:
        reply({"event": "ready"})
    await stop.wait()

    control.cancel()
    if serve is not None:
        for conn in list(server.active_connections.values()):
            conn.transport.close()
        server.server.close()
        serve.cancel()
    else:
        await server.shutdown()
    await asyncio.gather(*(t for t in (control, serve) if t is not None), return_exceptions=True)


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
