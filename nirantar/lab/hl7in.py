"""Analyser results over HL7 v2 (ORU^R01), and the MLLP listener that receives them.

``handle(raw)`` turns one message into stored results (awaiting a pathologist's
verification) and returns the acknowledgement to send back:

- **AA** - every result stored; a message whose control id (MSH-10) this analyser
  has already delivered is acknowledged again and stores nothing twice.
- **AE** - the message is well formed but can't be taken as it is: an accession that
  is not a sample here, a test code the analyser mapping does not know, a value that
  is not a number, a result for a rejected sample.
- **AR** - the message itself is unusable: not HL7, wrong encoding characters, not an
  ORU^R01, too large.

Anything not stored whole is kept in the laboratory's error queue (an event, so it
reaches every node) for a person to resolve; a message is never dropped, and one bad
result does not store the rest of its message half-way.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import hl7
import hl7.mllp

from nirantar import sql
from nirantar.errors import ActionError
from nirantar.lab import actions, catalogue, events
from nirantar.lab.models import Result, Sample
from nirantar.ledger.numbering import InvalidNumber
from nirantar.ledger.writer import writing

log = logging.getLogger(__name__)

MAX_MESSAGE = 1_000_000  # bytes: an ORU with a few hundred results is ~50 KB
ENCODING_CHARACTERS = "^~\\&"
ACTOR = "analyser"


@dataclass
class Outcome:
    ack: str  # AA | AE | AR
    reason: str
    stored: int = 0


class Refused(Exception):
    def __init__(self, ack: str, reason: str) -> None:
        super().__init__(reason)
        self.ack, self.reason = ack, reason


# OBX-11 result statuses that carry no value to store: X cannot be obtained, D delete,
# W wrong (withdrawn). Skipped; the rest of the message is stored.
NO_RESULT = ("X", "D", "W")


def _unit(text: str) -> str:
    """Units compared as analysers write them: 10*3/uL is 10^3/uL, any case."""
    return text.replace("*", "^").replace("µ", "u").replace("μ", "u").strip().lower()


def _field(segment: Any, index: int) -> str:
    try:
        return str(segment[index]).strip()
    except (IndexError, KeyError):
        return ""


def _component(segment: Any, index: int) -> str:
    """The first component of a field ("GLUC3^Glucose^L" -> "GLUC3")."""
    return _field(segment, index).split("^")[0].strip()


def parse(raw: bytes) -> Any:
    if len(raw) > MAX_MESSAGE:
        raise Refused("AR", f"message of {len(raw):,} bytes is over the {MAX_MESSAGE:,} limit")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    text = text.replace("\r\n", "\r").replace("\n", "\r").strip("\r")
    if not text.startswith("MSH"):
        raise Refused("AR", "not an HL7 message (it does not begin with MSH)")
    if text[4:8] != ENCODING_CHARACTERS or text[3] != "|":
        raise Refused("AR", f"encoding characters must be |{ENCODING_CHARACTERS}")
    try:
        message = hl7.parse(text)
        message.segment("MSH")
    except Exception as exc:  # noqa: BLE001 - any parse failure is the sender's
        raise Refused("AR", f"the message does not parse: {exc}") from exc
    return message


def _collected_sample(accession: str) -> Sample | None:
    """What a message's results are checked against - not the whole row - in plain SQL:
    this is read for every message (an unsaved Sample holding those columns)."""
    row = sql.one(
        "SELECT uhid, status, rejected_reason, tests, verified_results FROM lab_sample "
        "WHERE accession = %s AND is_collected",
        [accession],
    )
    if row is None:
        return None
    uhid, status, rejected_reason, tests, verified = row
    return Sample(
        accession=accession,
        uhid=uhid,
        status=status,
        rejected_reason=rejected_reason,
        tests=sql.json_value(tests),
        verified_results=sql.json_value(verified),
    )


def _results(message: Any) -> tuple[str, list[tuple[Sample, dict[str, str]]]]:
    """(instrument, [(sample, {analyte: value})]) or Refused naming the first problem."""
    msh = message.segment("MSH")
    kind = _field(msh, 9)
    if not kind.startswith("ORU^R01"):
        raise Refused("AR", f"only ORU^R01 result messages are taken here, not {kind or '?'}")
    instrument = _component(msh, 3)
    batches: list[tuple[Sample, dict[str, str]]] = []
    current: dict[str, str] | None = None
    ordered: set[str] = set()
    for segment in message:
        name = str(segment[0])
        if name == "OBR":
            text = _component(segment, 3) or _component(segment, 2)
            try:
                accession = events.ACCESSION.normalise(text)
            except InvalidNumber as exc:
                raise Refused("AE", f"OBR accession {text!r}: {exc}") from exc
            sample = _collected_sample(accession)
            if sample is None:
                raise Refused("AE", f"no sample {accession} here (unknown accession)")
            if sample.status == "rejected":
                raise Refused("AE", f"sample {accession} was rejected ({sample.rejected_reason})")
            current = {}
            ordered = {a.code for a in catalogue.analytes_of(sample.tests)}
            batches.append((sample, current))
        elif name == "OBX":
            if current is None:
                raise Refused("AE", "an OBX before any OBR")
            sample = batches[-1][0]
            code = _component(segment, 3)
            analyte = catalogue.instrument_analyte(instrument, code, ordered)
            if analyte is None:
                raise Refused(
                    "AE",
                    f"test code {code!r} of {instrument or 'this analyser'} is not "
                    f"mapped to a test ordered on {sample.accession}",
                )
            status = _field(segment, 11).upper()
            if status in NO_RESULT:  # "cannot be obtained", deleted, wrong: no value here
                continue
            if status == "P":
                raise Refused(
                    "AE", f"{analyte.code}: a preliminary result (OBX-11 P) is not stored"
                )
            unit = _field(segment, 6).strip()
            if unit and analyte.unit and _unit(unit) != _unit(analyte.unit):
                raise Refused(
                    "AE",
                    f"{analyte.code} sent in {unit!r}, but this laboratory reports it in "
                    f"{analyte.unit!r}: not converted, not stored",
                )
            current[analyte.code] = _field(segment, 5)
    if not batches or not any(values for _, values in batches):
        raise Refused("AE", "no results in the message")
    return instrument, batches


def _ack(message: Any, code: str, reason: str, raw: bytes = b"") -> bytes:
    if message is None:  # unparsed: answer with our own ACK, echoing MSH-10 if readable
        now = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
        control = _raw_control_id(raw)
        clean = reason.replace("|", "/").replace("\r", " ")[:80]
        text = f"MSH|^~\\&|NIRANTAR|LAB|||{now}||ACK|{now}|P|2.5\rMSA|{code}|{control}|{clean}"
        return text.encode()
    ack = message.create_ack(ack_code=code, application="NIRANTAR", facility="LAB")
    text = str(ack)
    if reason:
        clean = reason.replace("|", "/").replace("^", " ").replace("\r", " ")[:200]
        text = text.rstrip("\r") + f"|{clean}"  # MSA-3, the text message
    return text.encode()


def _raw_control_id(raw: bytes) -> str:
    """MSH-10 read straight from the first line, for refusing a message that won't parse."""
    first = raw[:2000].replace(b"\n", b"\r").split(b"\r", 1)[0].decode("latin-1")
    fields = first.split("|")
    control = fields[9] if first.startswith("MSH") and len(fields) > 9 else ""
    return "".join(c for c in control if c.isalnum() or c in "-_.")[:60]


def handle(raw: bytes) -> tuple[bytes, Outcome]:
    """Store one message's results; return the ACK to send and what happened. Never
    raises: whatever goes wrong is answered and kept in the error queue."""
    try:
        return _handle(raw)
    except Exception as exc:  # noqa: BLE001 - a fault of ours: refuse, keep, log
        log.exception("HL7 message could not be handled")
        outcome = Outcome(
            "AE", f"could not be stored here ({type(exc).__name__}); kept for a person"
        )
        try:
            _queue(raw, "", _raw_control_id(raw), outcome)
        except Exception:  # noqa: BLE001 - the queue itself failed: the ACK still goes
            log.exception("HL7 message could not be queued")
        return _ack(None, outcome.ack, outcome.reason, raw), outcome


def _handle(raw: bytes) -> tuple[bytes, Outcome]:
    """Store one message's results; return the ACK to send and what happened."""
    message = None
    instrument = control_id = ""
    try:
        message = parse(raw)
        msh = message.segment("MSH")
        instrument, control_id = _component(msh, 3), _field(msh, 10)
        if not control_id:
            raise Refused("AR", "the message has no control id (MSH-10)")
        if len(control_id) > 60 or len(instrument) > 40:
            raise Refused("AR", "MSH-10 over 60 or MSH-3 over 40 characters")
        with writing() as w:
            instrument, batches = _results(message)
            earlier = set(
                Result.objects.filter(instrument=instrument, control_id=control_id).values_list(
                    "accession", "analyte", "value"
                )
            )
            if earlier:  # this control id was delivered before: the same message, or not?
                sent = {
                    (sample.accession, code, actions.clean_value(catalogue.ANALYTES[code], v))
                    for sample, values in batches
                    for code, v in values.items()
                }
                if sent != earlier:
                    raise Refused(
                        "AE",
                        f"control id {control_id} was used before for other results: "
                        "not stored, kept for a person",
                    )
                return _ack(message, "AA", ""), Outcome("AA", "already received; stored once")
            stored = 0
            for sample, values in batches:
                stored += len(
                    actions.record_results(
                        w,
                        ACTOR,
                        sample,
                        values,
                        source="analyser",
                        instrument=instrument,
                        control_id=control_id,
                    )
                )
        return _ack(message, "AA", ""), Outcome("AA", "", stored)
    except Refused as exc:
        outcome = Outcome(exc.ack, exc.reason)
    except ActionError as exc:  # a value the catalogue refuses (not a number, ...)
        detail = "; ".join(f"{k}: {v}" for k, v in exc.fields.items()) or exc.message
        outcome = Outcome("AE", f"{exc.message} ({detail})")
    _queue(raw, instrument[:40], control_id[:60], outcome)
    return _ack(message, outcome.ack, outcome.reason, raw), outcome


def _queue(raw: bytes, instrument: str, control_id: str, outcome: Outcome) -> None:
    """Keep a message that was not stored, for a person: never dropped."""
    with writing() as w:
        w.emit(
            events.MESSAGE_FAILED,
            events.ERRORS_STREAM,
            {
                "instrument": instrument[:40],
                "control_id": control_id[:60],
                "ack": outcome.ack,
                "reason": outcome.reason[:300],
                # Kept whole up to the limit (as text: events hold text, not bytes).
                "message": raw[:MAX_MESSAGE].decode("utf-8", "replace").replace("\x00", "\ufffd")
                or "(empty message)",
            },
            actor=ACTOR,
        )


async def serve(host: str, port: int, *, ready: Any = None) -> None:
    """The MLLP listener: one task per analyser connection; results are stored in a
    worker thread, one message at a time per connection, each acknowledged."""

    # One thread writes, whatever the number of analysers connected: the node has one
    # writer anyway, and threads competing for it only wait on each other's retries.
    writer_thread = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="hl7")
    loop = asyncio.get_running_loop()

    async def connected(reader: Any, writer: Any) -> None:
        peer = writer.get_extra_info("peername")
        try:
            while not reader.at_eof():
                try:
                    raw = await reader.readblock()
                except asyncio.IncompleteReadError:
                    break
                except ValueError:  # over the stream limit: refused, and the refusal kept
                    reason = f"message over the {MAX_MESSAGE:,}-byte limit"
                    await loop.run_in_executor(
                        writer_thread,
                        _queue,
                        b"(too large to keep)",
                        "",
                        "",
                        Outcome("AR", reason),
                    )
                    writer.writeblock(_ack(None, "AR", reason))
                    await writer.drain()
                    continue
                except hl7.mllp.InvalidBlockError:
                    writer.writeblock(_ack(None, "AR", "not an MLLP block"))
                    await writer.drain()
                    continue
                reply, outcome = await loop.run_in_executor(writer_thread, handle, raw)
                if outcome.ack != "AA":
                    log.warning("%s from %s: %s", outcome.ack, peer, outcome.reason)
                writer.writeblock(reply)
                await writer.drain()
        finally:
            writer.close()

    server = await hl7.mllp.start_hl7_server(connected, host, port, limit=MAX_MESSAGE)
    if ready is not None:
        ready(server)
    async with server:
        await server.serve_forever()
