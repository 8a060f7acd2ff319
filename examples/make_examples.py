"""Generate the Lumen example data in examples/data/ (deterministic, offline).

Lumen is a made-up smart desk lamp (Lumen Mini, Lumen Pro, Lumen Arc) with a companion app,
Brightfield Home, sold by the fictional company Brightfield. The support conversations below are
hand-written scenarios in English, French and German, written in a small transcript notation
(see ``parse_blocks``) and filled with slot values (names, order numbers, models, colours, dates,
firmware versions...) drawn from one seeded ``random.Random(7)``: every run writes the same bytes.

Outputs, all in examples/data/:

- ``support.sharegpt.jsonl``: the demo's source, ShareGPT-style (see ``../mappings/sharegpt.toml``);
- ``support.jsonl``: the same conversations, same order, in Mistral's fine-tuning format;
- ``support.alpaca.json``: the single-turn, tool-free subset as an Alpaca JSON array;
- ``support.csv``: that subset as CSV (``examples/mappings/support-csv.toml``);
- ``broken.jsonl`` and ``broken.README.md``: common mistakes, one or two per line, and their list;
- ``pretrain.jsonl``: Lumen documentation paragraphs, one ``{"text": ...}`` per line;
- ``README.md``: the files, the content mix and the conventions a conversion must reproduce.

Run ``.venv/bin/python examples/make_examples.py``. It ends with ``self_check()``, which re-reads
the files, checks the Mistral file against the rules of docs/data.md and the other files
against it, and stops with an AssertionError when anything is off.
"""

from __future__ import annotations

import csv
import hashlib
import io
import itertools
import json
import random
import re
import string
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
SEED = 7
SYSTEM_SHARE = 0.4  # share of conversations that get a persona system prompt
LANGS = ("en", "fr", "de")

# --------------------------------------------------------------------------------------------
# The product world: models, colours, firmware, prices. Replies in the content rely on these.
# --------------------------------------------------------------------------------------------

MODELS = ("Lumen Mini", "Lumen Pro", "Lumen Arc")
SHORT_MODEL = {"Mini": "Lumen Mini", "Pro": "Lumen Pro", "Arc": "Lumen Arc"}
MODEL_CODE = {"Lumen Mini": "LMN", "Lumen Pro": "LPR", "Lumen Arc": "LAR"}
PRICE = {"Lumen Mini": 79.0, "Lumen Pro": 189.0, "Lumen Arc": 249.0}
CCT = {"Lumen Mini": "2700–5000 K", "Lumen Pro": "2700–6500 K", "Lumen Arc": "2200–6500 K"}
LUMENS = {"Lumen Mini": "450", "Lumen Pro": "900", "Lumen Arc": "1200"}
CRI = {"Lumen Mini": "90", "Lumen Pro": "95", "Lumen Arc": "97"}
ADAPTER = {  # Pro and Arc only: the Mini takes any USB-C charger of 15 W or more
    "en": {
        "Lumen Pro": "24 V / 36 W (5.5 × 2.1 mm barrel plug)",
        "Lumen Arc": "24 V / 48 W (5.5 × 2.1 mm barrel plug)",
    },
    "fr": {
        "Lumen Pro": "24 V / 36 W à fiche jack 5,5 × 2,1 mm",
        "Lumen Arc": "24 V / 48 W à fiche jack 5,5 × 2,1 mm",
    },
    "de": {
        "Lumen Pro": "24 V / 36 W mit Hohlstecker 5,5 × 2,1 mm",
        "Lumen Arc": "24 V / 48 W mit Hohlstecker 5,5 × 2,1 mm",
    },
}
# Old versions a customer may still run, and the current one.
FIRMWARE = {
    "Lumen Mini": (("2.1.5", "2.2.0"), "2.3.0"),
    "Lumen Pro": (("3.9.4", "4.0.3", "4.1.2"), "4.2.1"),
    "Lumen Arc": (("3.9.4", "4.0.3", "4.1.2"), "4.2.1"),
}
# English name -> (French, German, SKU suffix)
COLOURS = {
    "Chalk White": ("blanc craie", "Kreideweiß", "CWH"),
    "Graphite": ("graphite", "Graphit", "GRA"),
    "Sage Green": ("vert sauge", "Salbeigrün", "SGR"),
    "Terracotta": ("terracotta", "Terrakotta", "TER"),
    "Brushed Brass": ("laiton brossé", "Messing gebürstet", "BRS"),
}
MODEL_COLOURS = {
    "Lumen Mini": ("Chalk White", "Graphite", "Sage Green", "Terracotta"),
    "Lumen Pro": ("Chalk White", "Graphite", "Sage Green"),
    "Lumen Arc": ("Chalk White", "Graphite", "Sage Green", "Brushed Brass"),
}


def words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


NAMES = {
    "en": words("Priya Marcus Hannah Diego Aisha Tom Mei Jordan Olivia Sam Kwame Laura Ethan"),
    "fr": words("Camille Julien Léa Mathieu Inès Thomas Chloé Nicolas Manon Karim Sophie Yanis"),
    "de": words("Lena Jonas Miriam Felix Katharina Tobias Anna Lukas Sabine Mehmet Julia Stefan"),
}
CITIES = {
    "en": words("Portland Austin Denver Columbus Raleigh Minneapolis Tucson Pittsburgh Madison"),
    "fr": words("Lyon Nantes Bordeaux Lille Toulouse Rennes Grenoble Montpellier"),
    "de": words("Leipzig Köln Hamburg Freiburg Nürnberg Münster Dresden Mainz"),
}
ROUTERS = {
    "en": ["Xfinity gateway", "Eero 6", "Netgear Nighthawk", "TP-Link Deco", "Verizon Fios router"],
    "fr": ["Livebox 6", "Freebox Pop", "Bbox", "box SFR"],
    "de": ["Fritz!Box 7590", "Speedport Smart 4", "Vodafone Station", "o2 HomeBox"],
}
PHONES = ("iPhone 13", "iPhone 15", "Pixel 8", "Galaxy S23", "Galaxy A54", "OnePlus 11")
ANDROID_PHONES = ("Pixel 7a", "Pixel 8", "Galaxy S23", "Galaxy A54", "OnePlus 11")
PRE_MATTER_FIRMWARE = ("3.8.2", "3.9.1", "3.9.4")  # Pro/Arc versions before Matter (4.0)
APP_VERSIONS = ("3.6.2", "3.7.0", "3.7.4", "3.8.1")
MONTHS = {
    "en": (
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ),
    "fr": (
        "janvier",
        "février",
        "mars",
        "avril",
        "mai",
        "juin",
        "juillet",
        "août",
        "septembre",
        "octobre",
        "novembre",
        "décembre",
    ),
    "de": (
        "Januar",
        "Februar",
        "März",
        "April",
        "Mai",
        "Juni",
        "Juli",
        "August",
        "September",
        "Oktober",
        "November",
        "Dezember",
    ),
}

# --------------------------------------------------------------------------------------------
# Tools, in the platform's format (a JSON schema object for each function's parameters).
# --------------------------------------------------------------------------------------------

REFUND_REASONS = (
    "changed_mind",
    "damaged",
    "defective",
    "not_delivered",
    "price_adjustment",
    "duplicate_order",
    "missing_item",
)
TOOLS: dict[str, dict[str, Any]] = {
    "lookup_order": {
        "type": "function",
        "function": {
            "name": "lookup_order",
            "description": "Look up a Brightfield order by its number and return its status, "
            "items, amounts and shipping details.",
            "parameters": {
                "type": "object",
                "properties": {
                    "order_id": {
                        "type": "string",
                        "description": "The order number, 'BF-' followed by six digits.",
                    }
                },
                "required": ["order_id"],
            },
        },
    },
    "create_refund": {
        "type": "function",
        "function": {
            "name": "create_refund",
            "description": "Create a refund (full or partial) on an order. Returns the refund "
            "and, when the item has to come back, a prepaid return label.",
            "parameters": {
                "type": "object",
                "properties": {
                    "order_id": {"type": "string", "description": "The order number."},
                    "reason": {
                        "type": "string",
                        "enum": list(REFUND_REASONS),
                        "description": "Why the customer is refunded.",
                    },
                    "amount": {
                        "type": "number",
                        "description": "Amount to refund, in the order's currency.",
                    },
                },
                "required": ["order_id", "reason", "amount"],
            },
        },
    },
    "check_warranty": {
        "type": "function",
        "function": {
            "name": "check_warranty",
            "description": "Check the warranty of a Lumen lamp from the serial number printed "
            "under its base (also shown in the app under Lamp settings > About).",
            "parameters": {
                "type": "object",
                "properties": {
                    "serial_number": {
                        "type": "string",
                        "description": "The lamp's serial number, e.g. LPR24-310775.",
                    }
                },
                "required": ["serial_number"],
            },
        },
    },
}
ALL_TOOLS = ("lookup_order", "create_refund", "check_warranty")


# --------------------------------------------------------------------------------------------
# Slots: the per-conversation values that fill the templates.
# --------------------------------------------------------------------------------------------


def fmt_date(day: date, lang: str, year: bool = False) -> str:
    """A date as a person writes it: 'March 4', '4 mars', '4. März' (with the year if asked)."""
    month = MONTHS[lang][day.month - 1]
    if lang == "en":
        return f"{month} {day.day}, {day.year}" if year else f"{month} {day.day}"
    if lang == "fr":
        text = f"{'1er' if day.day == 1 else day.day} {month}"
    else:
        text = f"{day.day}. {month}"
    return f"{text} {day.year}" if year else text


def fmt_money(amount: float, lang: str) -> str:
    """'$189.00' in English (US store), '189,00 €' in French and German (EU store)."""
    if lang == "en":
        return f"${amount:,.2f}"
    whole, cents = f"{amount:.2f}".split(".")
    return f"{whole},{cents} €"


def digits(rng: random.Random, count: int) -> str:
    return "".join(rng.choice(string.digits) for _ in range(count))


def order_number(rng: random.Random) -> str:
    return f"BF-{rng.randint(200000, 699999)}"


def serial_number(rng: random.Random, model: str, year: int) -> str:
    return f"{MODEL_CODE[model]}{year % 100:02d}-{rng.randint(100000, 999999)}"


def tracking_number(rng: random.Random, lang: str) -> str:
    if lang == "en":
        alnum = string.ascii_uppercase + string.digits
        return "1Z" + "".join(rng.choice(alnum) for _ in range(16))
    return "JJD" + digits(rng, 18)


def colour_name(colour: str, lang: str) -> str:
    fr, de, _ = COLOURS[colour]
    return {"en": colour, "fr": fr, "de": de}[lang]


def product_slots(rng: random.Random, lang: str, model: str, suffix: str) -> dict[str, Any]:
    """Model, colour, SKU, price and specs of one product; ``suffix`` is '' or '2'."""
    colour = rng.choice(MODEL_COLOURS[model])
    other = rng.choice([c for c in MODEL_COLOURS[model] if c != colour])
    old, new = FIRMWARE[model]
    return {
        f"model{suffix}": model,
        f"colour{suffix}": colour_name(colour, lang),
        f"other_colour{suffix}": colour_name(other, lang),
        f"colour_en{suffix}": colour,
        f"sku{suffix}": f"{MODEL_CODE[model]}-{COLOURS[colour][2]}",
        f"price{suffix}": PRICE[model],
        f"price_txt{suffix}": fmt_money(PRICE[model], lang),
        f"fw{suffix}": rng.choice(old),
        f"fw_new{suffix}": new,
        f"cct{suffix}": CCT[model],
        f"lumens{suffix}": LUMENS[model],
        f"cri{suffix}": CRI[model],
        f"adapter{suffix}": ADAPTER[lang].get(model, "USB-C, 5 V / 3 A (15 W)"),
    }


def date_slots(rng: random.Random, lang: str) -> dict[str, Any]:
    """Dates around a random 'today' in 2025, consistent with each other.

    placed/eta: a recent order still on its way; ordered/delivered: an order delivered within the
    return window; purchase/warranty: a lamp under warranty; purchase_old/warranty_old: expired.
    """
    today = date(2025, 1, 13) + timedelta(days=rng.randrange(0, 300))
    placed = today - timedelta(days=rng.randint(2, 4))
    eta = today + timedelta(days=rng.randint(1, 3))
    ordered = today - timedelta(days=rng.randint(9, 18))
    delivered = ordered + timedelta(days=rng.randint(2, 4))
    purchase = today - timedelta(days=rng.randint(60, 640))
    purchase_old = today - timedelta(days=rng.randint(800, 1300))
    values = {
        "placed": placed,
        "shipped": placed + timedelta(days=1),
        "eta": eta,
        "ordered": ordered,
        "delivered": delivered,
        "return_by": delivered + timedelta(days=30),
        "purchase": purchase,
        "purchase_return": purchase + timedelta(days=30),
        "warranty": purchase + timedelta(days=730),
        "purchase_old": purchase_old,
        "warranty_old": purchase_old + timedelta(days=730),
        "ship_later": today + timedelta(days=rng.randint(5, 9)),
    }
    slots: dict[str, Any] = {}
    for name, day in values.items():
        slots[f"{name}_iso"] = day.isoformat()
        slots[f"{name}_txt"] = fmt_date(day, lang)
        slots[f"{name}_year"] = fmt_date(day, lang, year=True)
    return slots


def make_slots(rng: random.Random, lang: str, models: tuple[str, ...]) -> dict[str, Any]:
    """Every slot a template may use, drawn in a fixed order (so the output is reproducible)."""
    model = rng.choice(models)
    model2 = rng.choice([m for m in MODELS if m != model])
    slots: dict[str, Any] = {}
    slots |= product_slots(rng, lang, model, "")
    slots |= product_slots(rng, lang, model2, "2")
    slots |= date_slots(rng, lang)
    order, order2 = order_number(rng), order_number(rng)
    while order2 == order:
        order2 = order_number(rng)
    diff = float(rng.choice((10, 15, 20, 25, 30)))
    partial = float(rng.choice((15, 20, 25, 30, 40)))
    slots |= {
        "name": rng.choice(NAMES[lang]),
        "city": rng.choice(CITIES[lang]),
        "router": rng.choice(ROUTERS[lang]),
        "phone": rng.choice(PHONES),
        "android": rng.choice(ANDROID_PHONES),
        "fw_legacy": rng.choice(PRE_MATTER_FIRMWARE),
        "app_ver": rng.choice(APP_VERSIONS),
        "order": order,
        "order2": order2,
        "bad_order": f"BF-{rng.randint(20000, 69999)}",
        "serial": serial_number(rng, model, int(slots["purchase_iso"][:4])),
        "serial_old": serial_number(rng, model, int(slots["purchase_old_iso"][:4])),
        "tracking": tracking_number(rng, lang),
        "tracking2": tracking_number(rng, lang),
        "carrier": "UPS" if lang == "en" else "DHL",
        "currency": "USD" if lang == "en" else "EUR",
        "refund_id": f"RF-{digits(rng, 7)}",
        "case": f"CS-{digits(rng, 6)}",
        "pct": rng.choice((12, 37, 48, 63, 85, 99)),
        "desk_mm": rng.choice((18, 22, 25, 30, 38, 40, 45, 50)),
        "qty": rng.choice((12, 15, 20, 25, 40, 60)),
        "diff": diff,
        "diff_txt": fmt_money(diff, lang),
        "partial": partial,
        "partial_txt": fmt_money(partial, lang),
        "total2": PRICE[model] + PRICE[model2],
    }
    slots["new_price_txt"] = fmt_money(slots["price"] - diff, lang)
    slots["total2_txt"] = fmt_money(slots["total2"], lang)
    return slots


SLOT = re.compile(r"\{([a-z][a-z0-9_]*)\}")


def fill_text(template: str, slots: dict[str, Any]) -> str:
    """Replace every ``{slot}``; an unknown slot name is a KeyError (a typo in the content)."""
    return SLOT.sub(lambda m: str(slots[m.group(1)]), template)


def fill_json(value: Any, slots: dict[str, Any]) -> Any:
    """Fill a parsed JSON template; a string that is exactly ``"{slot}"`` takes the raw value."""
    if isinstance(value, str):
        whole = SLOT.fullmatch(value)
        return slots[whole.group(1)] if whole else fill_text(value, slots)
    if isinstance(value, list):
        return [fill_json(item, slots) for item in value]
    if isinstance(value, dict):
        return {key: fill_json(item, slots) for key, item in value.items()}
    return value


# --------------------------------------------------------------------------------------------
# The transcript notation.
# --------------------------------------------------------------------------------------------


@dataclass
class Step:
    """One turn of a scenario: its wordings (user/assistant) or its calls or results."""

    role: str  # "user" | "assistant" | "calls" | "results"
    variants: list[str] = field(default_factory=list)
    weight: int | None = None
    details: str | None = None
    calls: list[tuple[str, Any]] = field(default_factory=list)
    results: list[Any] = field(default_factory=list)


@dataclass
class Block:
    """One hand-written scenario and how many conversations to draw from it."""

    lang: str
    key: str
    subject: str
    models: tuple[str, ...]
    count: int
    min_users: int | None
    tools: tuple[str, ...]
    steps: list[Step] = field(default_factory=list)


HEADER = re.compile(r"^=== (.+)$")
MARKER = re.compile(r"^(A0|[UADCR])([:|]) ?(.*)$")
LIST_ITEM = re.compile(r"^(- |\d+[.)] )")


def reflow(lines: list[str]) -> str:
    """Join wrapped lines: a blank line separates paragraphs, '- ' or '1. ' lines are items."""
    paragraphs: list[list[str]] = [[]]
    for raw in lines:
        line = raw.strip()
        if not line:
            if paragraphs[-1]:
                paragraphs.append([])
        elif paragraphs[-1] and not LIST_ITEM.match(line):
            paragraphs[-1][-1] += " " + line
        else:
            paragraphs[-1].append(line)
    return "\n\n".join("\n".join(p) for p in paragraphs if p)


def parse_header(text: str, lang: str) -> Block:
    """``key | subject | models | options``; models '*' or 'Mini,Pro'; options n= min= tools=."""
    key, subject, models, *rest = (part.strip() for part in text.split("|"))
    options = dict(item.split("=", 1) for item in " ".join(rest).split())
    chosen = MODELS if models == "*" else tuple(SHORT_MODEL[m] for m in models.split(","))
    return Block(
        lang=lang,
        key=key,
        subject=subject,
        models=chosen,
        count=int(options.get("n", "3")),
        min_users=int(options["min"]) if "min" in options else None,
        tools=tuple(options["tools"].split(",")) if "tools" in options else ALL_TOOLS,
    )


def add_variant(block: Block, tag: str, lines: list[str]) -> None:
    step = block.steps[-1]
    expected = "user" if tag == "U" else "assistant"
    assert step.role == expected, f"{block.key}: '{tag}|' after a {step.role} step"
    step.variants.append(reflow(lines))


def add_call(block: Block, lines: list[str]) -> None:
    name, _, arguments = " ".join(line.strip() for line in lines).partition(" ")
    call = (name, json.loads(arguments))
    if block.steps and block.steps[-1].role == "calls":
        block.steps[-1].calls.append(call)
    else:
        block.steps.append(Step("calls", calls=[call]))


def add_result(block: Block, lines: list[str]) -> None:
    result = json.loads("\n".join(lines))
    if block.steps and block.steps[-1].role == "results":
        block.steps[-1].results.append(result)
    else:
        block.steps.append(Step("results", results=[result]))


def add_entry(block: Block, tag: str, sep: str, lines: list[str]) -> None:
    """Apply one ``U:``/``U|``/``A:``/``A0:``/``A|``/``D:``/``C:``/``R:`` entry to a block."""
    if sep == "|":
        add_variant(block, tag, lines)
    elif tag == "U":
        block.steps.append(Step("user", [reflow(lines)]))
    elif tag in ("A", "A0"):
        block.steps.append(Step("assistant", [reflow(lines)], weight=0 if tag == "A0" else None))
    elif tag == "D":
        block.steps[-1].details = "\n".join(line.strip() for line in lines if line.strip())
    elif tag == "C":
        add_call(block, lines)
    else:
        add_result(block, lines)


def parse_blocks(source: str, lang: str) -> list[Block]:
    """Parse the transcript notation.

    ``=== key | subject | models | n=3 min=2 tools=lookup_order,create_refund`` starts a
    scenario (``n``: conversations drawn from it; ``min``: fewest user turns when a conversation
    may stop early, after an assistant reply; ``tools``: the declared tools, default all three).
    Then, one entry per turn, continued on the following lines:

    - ``U:`` a user turn; ``U|`` another wording of the same turn;
    - ``D:`` details pasted under the user turn (the Alpaca ``input``), kept line by line;
    - ``A:`` an assistant reply; ``A0:`` one that is not trained on (weight 0); ``A|`` another
      wording;
    - ``C: name {json arguments}`` a tool call; consecutive ``C:`` lines are parallel calls;
    - ``R: {json}`` a tool result, one per call, in call order.

    Text is reflowed: wrapped lines are joined with a space, a blank line starts a paragraph and
    lines starting with ``- `` or ``1. `` are list items. ``{slot}`` names are filled later.
    """
    blocks: list[Block] = []
    entry: tuple[str, str, list[str]] | None = None

    def flush() -> None:
        if entry is not None:
            add_entry(blocks[-1], *entry)

    for line in source.strip().splitlines():
        if header := HEADER.match(line):
            flush()
            entry = None
            blocks.append(parse_header(header.group(1), lang))
        elif marker := MARKER.match(line):
            flush()
            entry = (marker.group(1), marker.group(2), [marker.group(3)])
        else:
            assert entry is not None or not line.strip(), f"stray line: {line!r}"
            if entry is not None:
                entry[2].append(line)
    flush()
    for block in blocks:
        check_block(block)
    return blocks


def check_block(block: Block) -> None:
    """Catch notation mistakes early: calls answered in number, a user turn first."""
    assert block.steps and block.steps[0].role == "user", f"{block.key}: must start with U:"
    for before, after in itertools.pairwise(block.steps):
        if before.role == "calls" and after.role == "results":
            assert len(before.calls) == len(after.results), f"{block.key}: calls vs results"
    for step in block.steps:
        for name, _ in step.calls:
            assert name in block.tools, f"{block.key}: {name} is not declared"


# --------------------------------------------------------------------------------------------
# Conversations: drawing them from the blocks.
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Turn:
    role: str  # "user" | "assistant" | "calls" | "results"
    text: str = ""
    details: str | None = None  # user turns: the pasted block, on the lines after the text
    weight: int | None = None
    calls: tuple[tuple[str, dict[str, Any]], ...] = ()
    results: tuple[str, ...] = ()

    @property
    def content(self) -> str:
        """A user turn's full message: its text, then the details block if any (joined with a
        newline, as Alpaca's ``instruction`` and ``input`` are joined)."""
        return f"{self.text}\n{self.details}" if self.details else self.text


@dataclass
class Conversation:
    lang: str
    kind: str  # "single" | "multi" | "weight0" | "tools"
    scenario: str
    subject: str
    system: str | None
    tools: tuple[str, ...]
    turns: tuple[Turn, ...]
    id: str = ""


def cut_points(block: Block) -> list[int]:
    """Where a conversation drawn from ``block`` may end: after an assistant reply with at least
    ``min_users`` user turns, or at the end of the scenario."""
    points = []
    users = 0
    for index, step in enumerate(block.steps):
        users += step.role == "user"
        ends_reply = step.role == "assistant" and index + 1 < len(block.steps)
        if ends_reply and block.min_users is not None and users >= block.min_users:
            points.append(index + 1)
    return [*points, len(block.steps)]


def render_step(step: Step, pick: int, slots: dict[str, Any], weighted: bool) -> Turn:
    if step.role == "user":
        details = fill_text(step.details, slots) if step.details else None
        return Turn("user", fill_text(step.variants[pick], slots), details=details)
    if step.role == "assistant":
        weight = (1 if step.weight is None else step.weight) if weighted else None
        return Turn("assistant", fill_text(step.variants[pick], slots), weight=weight)
    if step.role == "calls":
        calls = tuple((name, fill_json(args, slots)) for name, args in step.calls)
        return Turn("calls", calls=calls)
    results = tuple(
        json.dumps(fill_json(result, slots), ensure_ascii=False) for result in step.results
    )
    return Turn("results", results=results)


def classify(turns: tuple[Turn, ...]) -> str:
    if any(turn.role == "calls" for turn in turns):
        return "tools"
    if any(turn.weight == 0 for turn in turns):
        return "weight0"
    return "multi" if sum(turn.role == "user" for turn in turns) > 1 else "single"


def draw(block: Block, first: tuple[int, int], rng: random.Random) -> Conversation:
    """One conversation from ``block``: wording of the first exchange given, the rest drawn."""
    slots = make_slots(rng, block.lang, block.models)
    points = cut_points(block)
    end = rng.choice([*points, points[-1]])  # the whole scenario twice as likely as a cut
    weighted = any(step.weight == 0 for step in block.steps)
    turns = []
    seen_first = {"user": False, "assistant": False}
    for step in block.steps[:end]:
        pick = rng.randrange(len(step.variants)) if step.variants else 0
        if step.role in seen_first and not seen_first[step.role]:
            pick = first[0] if step.role == "user" else first[1]
            seen_first[step.role] = True
        turns.append(render_step(step, pick, slots, weighted))
    system = rng.choice(PERSONAS[block.lang]) if rng.random() < SYSTEM_SHARE else None
    return Conversation(
        lang=block.lang,
        kind=classify(tuple(turns)),
        scenario=block.key,
        subject=fill_text(block.subject, slots),
        system=system,
        tools=block.tools if any(turn.role == "calls" for turn in turns) else (),
        turns=tuple(turns),
    )


def fingerprint(conv: Conversation) -> str:
    """Whitespace-insensitive key of a conversation's turns (the system prompt left out)."""
    parts = []
    for turn in conv.turns:
        text = " ".join(turn.content.split())
        parts.append(f"{turn.role}:{text}:{turn.calls}:{turn.results}")
    return "\x1f".join(parts)


def first_exchanges(block: Block, rng: random.Random) -> list[tuple[int, int]]:
    """All (user wording, reply wording) pairs of the first exchange, in a seeded order."""
    users = len(block.steps[0].variants)
    replies = next((len(s.variants) for s in block.steps if s.role == "assistant"), 1)
    pairs = [(u, a) for u in range(users) for a in range(replies)]
    rng.shuffle(pairs)
    return pairs


def draw_block(block: Block, rng: random.Random, seen: set[str]) -> list[Conversation]:
    """``block.count`` distinct conversations (retrying the rare draw that repeats one)."""
    pairs = first_exchanges(block, rng)
    drawn = []
    for index in range(block.count):
        first = pairs[index % len(pairs)]
        for _ in range(50):
            conv = draw(block, first, rng)
            if fingerprint(conv) not in seen:
                break
            first = rng.choice(pairs)
        else:
            raise AssertionError(f"{block.key}: cannot draw {block.count} distinct conversations")
        seen.add(fingerprint(conv))
        drawn.append(conv)
    return drawn


def generate(rng: random.Random) -> list[Conversation]:
    """All conversations, shuffled, with ids ``lumen-0001-en``..."""
    seen: set[str] = set()
    conversations = []
    for lang in LANGS:
        for block in parse_blocks(CONTENT[lang], lang):
            conversations.extend(draw_block(block, rng, seen))
    rng.shuffle(conversations)
    for number, conv in enumerate(conversations, start=1):
        conv.id = f"lumen-{number:04d}-{conv.lang}"
    return conversations


# --------------------------------------------------------------------------------------------
# Output formats.
# --------------------------------------------------------------------------------------------

ALNUM = string.ascii_letters + string.digits


def call_id(conv_id: str, number: int) -> str:
    """A 9-character [a-zA-Z0-9] tool-call id, derived from the conversation id and position."""
    digest = hashlib.sha256(f"{conv_id}/{number}".encode()).digest()
    return "".join(ALNUM[byte % len(ALNUM)] for byte in digest[:9])


def arguments_json(arguments: dict[str, Any]) -> str:
    """Compact, as orjson (and tuner's converter) writes it: ``{"order_id":"BF-318274"}``."""
    return json.dumps(arguments, ensure_ascii=False, separators=(",", ":"))


def to_mistral(conv: Conversation) -> dict[str, Any]:
    """The conversation in Mistral's fine-tuning format."""
    messages: list[dict[str, Any]] = []
    if conv.system:
        messages.append({"role": "system", "content": conv.system})
    pending: list[str] = []
    calls_made = 0
    for turn in conv.turns:
        if turn.role == "user":
            messages.append({"role": "user", "content": turn.content})
        elif turn.role == "assistant":
            message: dict[str, Any] = {"role": "assistant", "content": turn.text}
            if turn.weight is not None:
                message["weight"] = turn.weight
            messages.append(message)
        elif turn.role == "calls":
            pending = [call_id(conv.id, calls_made + i) for i in range(len(turn.calls))]
            calls_made += len(turn.calls)
            tool_calls = [
                {
                    "id": cid,
                    "type": "function",
                    "function": {"name": name, "arguments": arguments_json(args)},
                }
                for cid, (name, args) in zip(pending, turn.calls, strict=True)
            ]
            messages.append({"role": "assistant", "tool_calls": tool_calls})
        else:
            for cid, result in zip(pending, turn.results, strict=True):
                messages.append({"role": "tool", "content": result, "tool_call_id": cid})
    record: dict[str, Any] = {"messages": messages}
    if conv.tools:
        record["tools"] = [TOOLS[name] for name in conv.tools]
    return record


def sharegpt_call(calls: tuple[tuple[str, dict[str, Any]], ...]) -> str:
    objects = [{"name": name, "arguments": args} for name, args in calls]
    return json.dumps(objects[0] if len(objects) == 1 else objects, ensure_ascii=False)


def to_sharegpt(conv: Conversation) -> dict[str, Any]:
    """ShareGPT style: one observation turn per tool result, in call order."""
    turns: list[dict[str, Any]] = []
    for turn in conv.turns:
        if turn.role == "user":
            turns.append({"from": "human", "value": turn.content})
        elif turn.role == "assistant":
            item: dict[str, Any] = {"from": "gpt", "value": turn.text}
            if turn.weight is not None:
                item["weight"] = turn.weight
            turns.append(item)
        elif turn.role == "calls":
            turns.append({"from": "function_call", "value": sharegpt_call(turn.calls)})
        else:
            turns.extend({"from": "observation", "value": result} for result in turn.results)
    record: dict[str, Any] = {"id": conv.id}
    if conv.system:
        record["system"] = conv.system
    if conv.tools:
        record["tools"] = json.dumps([TOOLS[name] for name in conv.tools], ensure_ascii=False)
    record["conversations"] = turns
    return record


def to_alpaca(conv: Conversation) -> dict[str, Any]:
    user, reply = conv.turns
    record = {"instruction": user.text, "input": user.details or "", "output": reply.text}
    if conv.system:
        record["system"] = conv.system
    return record


CSV_COLUMNS = ("ticket_subject", "customer_message", "agent_reply", "persona")


def to_csv_row(conv: Conversation) -> dict[str, str]:
    user, reply = conv.turns
    return {
        "ticket_subject": conv.subject,
        "customer_message": user.content,
        "agent_reply": reply.text,
        "persona": conv.system or "",
    }


def jsonl(records: list[Any]) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode("utf-8")


def csv_bytes(rows: list[dict[str, str]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def write(path: Path, payload: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(payload)


def write_support(conversations: list[Conversation]) -> None:
    singles = [c for c in conversations if c.kind == "single"]
    write(DATA / "support.sharegpt.jsonl", jsonl([to_sharegpt(c) for c in conversations]))
    write(DATA / "support.jsonl", jsonl([to_mistral(c) for c in conversations]))
    alpaca = json.dumps([to_alpaca(c) for c in singles], ensure_ascii=False, indent=2)
    write(DATA / "support.alpaca.json", (alpaca + "\n").encode("utf-8"))
    write(DATA / "support.csv", csv_bytes([to_csv_row(c) for c in singles]))


def write_broken() -> None:
    write(DATA / "broken.jsonl", "".join(line + "\n" for line, _, _ in BROKEN).encode("utf-8"))
    rows = []
    for number, (_, found, mistake) in enumerate(BROKEN, start=1):
        categories = ", ".join(category for category, _ in found) or "none"
        severities = ", ".join(severity for _, severity in found) or "none"
        rows.append(f"| {number} | {categories} | {severities} | {mistake} |")
    write(DATA / "broken.README.md", (BROKEN_README + "\n".join(rows) + "\n").encode("utf-8"))


def write_pretrain() -> None:
    write(DATA / "pretrain.jsonl", jsonl([{"text": text} for text in PRETRAIN]))


def mix(conversations: list[Conversation]) -> str:
    """A short report of the content mix."""
    total = len(conversations)
    langs = Counter(c.lang for c in conversations)
    kinds = Counter(c.kind for c in conversations)
    users = Counter(sum(t.role == "user" for t in c.turns) for c in conversations)
    parallel = sum(any(len(t.calls) > 1 for t in c.turns) for c in conversations)
    on_call = sum(c.turns[-1].role == "calls" for c in conversations)
    system = sum(c.system is not None for c in conversations)
    lines = [
        f"conversations: {total}",
        "languages: " + ", ".join(f"{k} {v} ({v / total:.0%})" for k, v in sorted(langs.items())),
        "kinds: " + ", ".join(f"{k} {v} ({v / total:.0%})" for k, v in sorted(kinds.items())),
        "user turns: " + ", ".join(f"{k}: {v}" for k, v in sorted(users.items())),
        f"with system prompt: {system} ({system / total:.0%})",
        f"parallel tool calls: {parallel}; ending on a tool call: {on_call}",
        f"scenarios: {len({c.scenario + c.lang for c in conversations})}",
    ]
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# Content. Facts the replies keep to: Mini 450 lm, 2700–5000 K, Bluetooth only, USB-C power
# (15 W); Pro 900 lm, 2700–6500 K, Wi-Fi 2.4 GHz + Bluetooth, presence sensor, Auto Light,
# USB-C charging port; Arc 1200 lm, 2200–6500 K, RGB accent ring, optional desk clamp. Matter
# from firmware 4.0 (Pro, Arc). 30-day returns from delivery, 2-year warranty (4 with Care+),
# price adjustment within 14 days. US store ships from Reno (UPS), EU store from Rotterdam (DHL).
# --------------------------------------------------------------------------------------------

PERSONAS = {
    "en": (
        "You are Brightfield's support assistant for Lumen lamps (Lumen Mini, Lumen Pro and "
        "Lumen Arc) and the Brightfield Home app. Be warm, concise and specific. Give "
        "step-by-step instructions when troubleshooting, and never promise a refund or a "
        "replacement you cannot arrange.",
        "You are the customer support assistant for Brightfield, maker of the Lumen smart desk "
        "lamps. Keep replies short and practical, and ask for an order or serial number only "
        "when you actually need it.",
        "You are Lumen Support, Brightfield's assistant. Customers write in about their Lumen "
        "Mini, Pro or Arc, their orders, returns and warranty. Be friendly and direct, and look "
        "things up with the tools you have instead of guessing.",
        "Brightfield customer care, Lumen product line. Policies: 30-day returns from delivery, "
        "2-year warranty (4 years with Care+), price adjustment within 14 days of purchase. Be "
        "helpful and honest; if you don't know something, say so and offer to escalate.",
    ),
    "fr": (
        "Tu es l'assistant du service client de Brightfield pour les lampes Lumen (Mini, Pro et "
        "Arc) et l'application Brightfield Home. Réponds en français, avec chaleur et "
        "précision, en vouvoyant le client.",
        "Vous êtes l'assistant support de Brightfield. Vous aidez les clients avec leurs lampes "
        "de bureau Lumen, leurs commandes, les retours et la garantie. Soyez concis, concret "
        "et courtois.",
        "Assistant du service client Brightfield, gamme Lumen. Politique : retours sous 30 jours "
        "après la livraison, garantie de 2 ans (4 ans avec Care+), ajustement de prix sous "
        "14 jours. Si une réponse dépend d'une commande, consultez-la plutôt que de supposer.",
    ),
    "de": (
        "Du bist der Support-Assistent von Brightfield für die Lumen-Schreibtischlampen (Mini, "
        "Pro, Arc) und die App Brightfield Home. Antworte auf Deutsch, freundlich und präzise, "
        "und sieze die Kundschaft.",
        "Sie sind der Kundenservice-Assistent von Brightfield. Sie helfen bei Fragen zu "
        "Lumen-Lampen, Bestellungen, Rücksendungen und Garantie. Antworten Sie knapp, konkret "
        "und höflich.",
        "Brightfield Kundenservice, Produktlinie Lumen. Richtlinien: 30 Tage Rückgabe ab "
        "Lieferung, 2 Jahre Garantie (4 Jahre mit Care+). Wenn Sie etwas nicht sicher wissen, "
        "sagen Sie das und bieten Sie an, den Fall weiterzugeben.",
    ),
}

EN_SINGLE = """
=== reset_mini | How to factory reset my Lumen Mini | Mini
U: How do I factory reset my Lumen Mini? It doesn't show up in the app anymore.
U| hi, my mini lamp is acting weird and the app can't find it. is there a reset button somewhere??
U| I'm giving my Lumen Mini to my sister and want to wipe it first. What's the right way to
reset it?
A: You can reset the Lumen Mini right on the lamp:

1. Make sure it's plugged in and switched on.
2. Press and hold the touch strip and the power button together for about 8 seconds.
3. Let go when the light pulses white twice. It restarts with factory settings.

Then open Brightfield Home, tap "+" and add it as a new lamp. Keep your phone within a few
metres while it pairs, since the Mini connects over Bluetooth.
A| There's no separate reset button, it's a combination: hold the touch strip and the power
button at the same time for roughly 8 seconds, until the lamp pulses white twice. That clears
the pairing, scenes and routines stored on the lamp.

If the lamp is still listed in your app, remove it there as well (Lamp settings > Remove lamp)
before adding it again, otherwise the app keeps trying to reach the old pairing.

=== reset_pro | Reset {model} to factory settings | Pro,Arc
U: What's the procedure to reset a {model} to factory settings?
U| My {model} is stuck on a dim orange glow and ignores both the app and the touch controls.
How do I reset it?
U| I replaced my router last weekend and now the {model} is offline. Do I have to reset it to
connect it to the new network?
A: Here's how to reset the {model}:

1. Keep it plugged in.
2. Press and hold the power button on the back of the base for 10 seconds.
3. Release it when the light blinks amber three times.

The lamp keeps its firmware but forgets its Wi-Fi network, scenes and routines. Afterwards,
open Brightfield Home, tap "+" > Add lamp and pick a 2.4 GHz network when asked.
A| A reset is the quickest way back to a clean state. Hold the power button on the back of the
base for 10 seconds, until the light blinks amber three times, then let go. It takes about
20 seconds to restart.

After that the {model} is in setup mode: add it again in Brightfield Home with "+" > Add lamp.
Your routines and scenes are stored in your account too, so the app offers to restore them
once the lamp is back online.

=== wifi_24 | {model} won't connect to Wi-Fi | Pro,Arc
U: My {model} won't connect to Wi-Fi. The app gets to "Joining network" and then says it failed.
I've tried three times and the password is right.
D: Router: {router}
Phone: {phone}
Brightfield Home {app_ver}
U| Setup fails at the Wi-Fi step every single time. Password is definitely right.
D: Lamp: {model}
Router: {router}
App version: {app_ver}
A: That step usually fails because of the network band rather than the password. The {model}
only joins 2.4 GHz networks, and many routers, the {router} included, broadcast 2.4 and 5 GHz
under one name. A few things to try:

1. In your router settings, give the 2.4 GHz band its own name for now (for example add "-2G").
2. Make sure the security mode is WPA2 or "WPA2/WPA3"; WPA3-only is not supported yet.
3. Run the setup again and choose the 2.4 GHz name. Your phone can stay on any network.

Once the lamp is connected you can merge the names again; it will keep its connection.
A| Since the password is right, the usual cause is that the {model} can only use 2.4 GHz, and
the {router} hands it a combined 2.4/5 GHz network that it can't always join during setup.

Open the router's settings and either split the bands into two network names, or temporarily
turn off "band steering" (sometimes called "Smart Connect"). Check as well that the security
mode isn't WPA3-only. Then retry the setup and pick the 2.4 GHz network. If it still fails,
tell me what the app shows exactly and we'll dig further.

=== mini_remote | Control Lumen Mini remotely? | Mini
U: Can I switch my Lumen Mini on from the office? I'd like it to be on when I get home.
U| is there a way to control the mini when I'm not at home? the app says "lamp not nearby"
U| Does the Lumen Mini work with Alexa or remotely over the internet?
A: The Mini connects to your phone over Bluetooth only, so the app can control it when you're
within about 10 metres, and not from the office or through Alexa.

What does work: routines are stored on the lamp itself and run without your phone. In
Brightfield Home, open Routines > New routine, choose "Turn on", set the time (say 6:30 pm on
weekdays) and save while you're near the lamp. It will switch on at that time every day.

If remote control or voice assistants matter to you, the Lumen Pro and Lumen Arc have Wi-Fi and
work with Alexa, Google Home and Apple Home.
A| Not remotely, I'm afraid: the Lumen Mini uses Bluetooth, which only reaches about 10 metres,
so the app can only talk to it while you're close by. It doesn't connect to Wi-Fi, so Alexa and
control over the internet aren't possible with this model.

A good workaround is a routine. Routines are saved on the lamp, so once you've set one up (in
Routines > New routine, while you're at home), it runs every day on its own, for example
turning on at 6 pm at 70% warm white.

=== flicker_410 | {model} flickers at low brightness | Pro,Arc
U: My {model} flickers when I dim it below about 5%. Above that it's fine. Is it broken?
D: Firmware: 4.1.0
Bought: {purchase_txt}
U| The light on my {model} shimmers at the lowest brightness levels, really noticeable at night.
Anything I can do?
D: Firmware 4.1.0, app {app_ver}
A: Nothing is wrong with the hardware. Firmware 4.1.0 has a known issue that makes the Pro and
Arc flicker below
about 5% brightness; it was fixed in 4.1.2, and the current version is {fw_new}.

To update: Brightfield Home > your lamp > Lamp settings > Firmware > Update. It takes about
three minutes; keep the lamp plugged in until it restarts. After the update the low end should
be steady. If it still flickers, send me the serial number (under the base) and we'll replace
it under warranty.
A| Thanks for the details, they make this easy: 4.1.0 is the version with the low-brightness
flicker bug. Updating fixes it.

In the app, open the lamp, then Lamp settings > Firmware and tap Update to install
{fw_new}. The lamp restarts by itself when it's done, usually within three minutes. Don't
unplug it in the meantime. If you still see flicker after that, let me know and we'll sort out
a replacement.

=== fw_stuck | Firmware update stuck at {pct}% | Pro,Arc
U: The firmware update on my {model} has been stuck at {pct}% for over 20 minutes. Should I
unplug it??
U| Update to {fw_new} hangs at {pct}%. The lamp is still on, the app just shows the progress bar.
U| help, firmware update frozen at {pct} percent on my {model}. is it bricked?
A: Don't worry, the lamp is safe: the {model} installs new firmware into a second slot and only
switches
over once the download is complete and checked, so an interrupted update leaves the old version
running.

Give it 10 more minutes, then:

1. Unplug the lamp for 10 seconds and plug it back in.
2. Open Brightfield Home, go to Lamp settings > Firmware and start the update again.
3. If it stops again, move the lamp closer to the router or restart the router; updates need a
stable 2.4 GHz connection.
A| You can unplug it safely. The update is downloaded and verified before anything is replaced,
so a stuck download just leaves your current firmware in place.

Power-cycle the lamp (unplugged for 10 seconds), wait until it's back online in the app, then
retry from Lamp settings > Firmware. A weak Wi-Fi signal is the usual reason for a stall at a
fixed percentage, so if it happens again, try with the router closer or restarted.

=== colour_temp | Best colour temperature for reading and work | *
U: What colour temperature should I use on my {model} for reading in the evening vs. working
during the day?
U| I never know which white to pick on my {model}. What's best for screen work, and what for
winding down at night?
A: A simple rule of thumb:

- Evenings and reading for pleasure: warm, 2700–3000 K, at a lower brightness.
- Focused work and screen time during the day: neutral to cool, around 4000–5000 K.
- Detail work like drawing or sorting colours: the coolest, brightest setting.

Your {model} covers {cct}. If you'd rather not switch by hand, turn on Circadian mode in
Brightfield Home; it moves from cooler light in the daytime to warmer light in the evening on
its own.
A| For daytime work, neutral to cool white (about 4000–5000 K) helps you stay alert and keeps
text crisp next to a screen. In the evening, drop to warm white (2700–3000 K) and a lower
brightness, which is easier on the eyes and less stimulating before bed.

The {model} spans {cct}, so both are within reach. The "Focus" and "Wind Down" scenes in the
app are set up exactly this way, if you want a one-tap option.

=== circadian | Circadian mode not warming up in the evening | *
U: Circadian mode on my {model} is still very blue at 7pm. How does it decide the colour?
U| How does the Circadian mode work? It doesn't seem to get warmer in the evening on my {model}.
A: Circadian mode follows the sunrise and sunset times for your location: cooler light around
midday, gradually warmer from about an hour before sunset. If the app doesn't know your
location, it falls back to a fixed 7 am–7 pm day, which would explain the blue light at 7 pm.

Check Brightfield Home > Settings > Location & time zone and set your city. Under Circadian you
can also move "Evening warmth starts" earlier if you like warm light sooner.
A| It works from your local sunrise and sunset: cool, bright light in the middle of the day,
then a slow shift to warm white that starts roughly an hour before sunset.

When it stays cool in the evening, the cause is nearly always the location or time zone. Go to
Settings > Location & time zone in the app and check both. If they're right, open Circadian and
look at "Evening warmth starts"; you can set it to a fixed time such as 6 pm.

=== focus_mode | Focus mode timer length | *
U: What exactly does Focus mode do on the {model}? And can I make the work interval longer
than 25 minutes?
U| Is there a way to change the Focus timer? 25 minutes is too short for me.
A: Focus mode sets the lamp to bright neutral-cool light (5000 K) and can run a work/break
timer. When a work interval ends, the light dims to 30% and warms up a bit to signal the break;
it comes back when the break is over.

You can change both lengths: Brightfield Home > Scenes > Focus > Timer. Work intervals go from
15 to 90 minutes and breaks from 5 to 20. Tap the lamp once if you want to skip a break.
A| Yes, 25 minutes is only the default. In Brightfield Home, open Scenes > Focus > Timer and set
the work interval anywhere from 15 to 90 minutes and the break from 5 to 20.

During a break the lamp dims to 30% with a slightly warmer tone, then returns to full Focus
light. If you want the bright light without the timer, switch the timer off on the same screen.

=== alexa | Connect {model} to Alexa | Pro,Arc
U: How do I connect my {model} to Alexa?
U| Trying to get Alexa to control my {model}. Alexa says no devices found.
A: Here's the setup:

1. Make sure the lamp is online in Brightfield Home (Wi-Fi connected).
2. In the Alexa app, go to More > Skills & Games, search for "Brightfield Home" and enable it.
3. Sign in with your Brightfield account when asked and allow access.
4. Say "Alexa, discover devices" or tap Discover in the Alexa app.

The lamp appears under the name it has in Brightfield Home, so "Alexa, set desk lamp to 40%"
works if you named it "Desk lamp".
A| Alexa reaches the lamp through our Brightfield Home skill. In the Alexa app, open More >
Skills & Games, enable Brightfield Home, sign in with the same account you use in our app, then
say "Alexa, discover devices".

If Alexa finds nothing, the skill is usually linked to a different Brightfield account than the
one the lamp is registered to: disable it, enable it again and sign in with the right one. The
{model} also has to be online in Brightfield Home for Alexa to see it.

=== matter_apple | Add {model} to Apple Home | Pro,Arc
U: Can I add my {model} to Apple Home?
U| I want my {model} in the Home app on my iPhone next to my other lights. How?
A: You can, through Matter. You need firmware 4.0 or later on the lamp (the current one is
{fw_new}; check under Lamp settings > Firmware).

1. In Brightfield Home, open the lamp > Lamp settings > Matter > Pair with another app. This
shows a setup code and QR code.
2. In Apple Home, tap "+" > Add Accessory and scan the code.
3. Pick a room and a name.

For control away from home, Apple Home needs a home hub (a HomePod or Apple TV).
A| You can, via Matter. First make sure the {model} runs firmware 4.0 or newer (Lamp settings >
Firmware in Brightfield Home).

Then, in Brightfield Home: Lamp settings > Matter > Pair with another app. Keep that screen
open, go to the Home app, tap "+" > Add Accessory and scan the QR code shown. The lamp stays in
Brightfield Home too, so you can keep using both apps.

=== clamp | Arc desk clamp and desk thickness | Arc
U: Will the Arc desk clamp fit my desk? The top is about {desk_mm} mm thick.
U| My desk is {desk_mm}mm thick, does the clamp for the Lumen Arc work with that?
A: It will. The Arc Desk Clamp fits desktops from 12 to 65 mm thick, so {desk_mm} mm is well
within range. It needs about 6 cm of free space under the desk edge, and a lip or frame rail
right at the edge can get in the way, so check for that.

The clamp is sold separately ($29) and swaps with the weighted base in a minute with the
4 mm hex key that comes with the lamp.
A| Yes, {desk_mm} mm is fine: the clamp takes tops between 12 and 65 mm. Just make sure
there's nothing directly under the edge (a drawer rail or crossbar) where the clamp's lower
jaw needs to sit.

You swap the weighted base for the clamp with the hex key stored in the base, no other tools
needed.

=== usb_power | Powering the Mini from a USB-C port | Mini
U: can I power my lumen mini from my laptop's usb-c port instead of the adapter?
U| Is it OK to run the Lumen Mini off my monitor's USB-C port? I'd like one less plug.
A: You can, but it depends on what the port delivers. The Mini needs 5 V / 3 A (15 W) for full
brightness. Many laptop and monitor ports supply only 7.5 W; in that case the lamp limits
itself to 50% brightness and blinks amber once when you switch it on.

If you see that amber blink, use the included 20 W adapter or any USB-C charger of 15 W or
more. Running it at reduced power doesn't harm the lamp.
A| It works as long as the port can provide 15 W (5 V / 3 A). Ports that provide less are
common, and the Mini handles that by capping brightness at 50%; you'll notice one amber blink
at power-on when that happens.

So try it: no amber blink means full power. If you do see it, a USB-C phone charger of 15 W or
more will do the job just as well as our adapter.

=== pro_port | USB-C port on the Lumen Pro base | Pro | n=2
U: Does the USB-C port on the back of the Lumen Pro charge my phone? Even when the lamp is off?
U| What's the USB port on the Pro's base for? Can I charge my earbuds with it overnight?
A: Yes. The USB-C port in the base delivers up to 15 W, which charges phones, earbuds and
similar devices at a decent speed. It works whenever the lamp is plugged in, whether the light
is on or off. It's power only, no data, and it isn't strong enough for laptops.
A| It's a charging port: up to 15 W over USB-C, enough for a phone or earbuds. It stays live
when the light is switched off, so overnight charging works fine. The only thing it can't do is
charge a laptop or transfer data.

=== presence | Lumen Pro keeps switching off | Pro
U: My Lumen Pro keeps turning off while I'm sitting right next to it reading. Why?
U| the pro switches off by itself after a while. I thought it was broken but it comes back on
when I wave at it lol
A: That's the presence sensor. When it doesn't detect anyone in front of the lamp for
10 minutes, it switches off to save energy, and it turns back on when you move. Reading still,
off to the side of the lamp, can fall outside its view (about 2 metres in front).

In Brightfield Home, open the lamp > Lamp settings > Presence. You can lengthen the timeout
(1 to 60 minutes), raise the sensitivity, or turn the feature off completely.
A| Not broken, that's the presence sensor doing its job: no movement detected in front of the
lamp for 10 minutes, so it switches off, and any movement brings it back.

If it's too eager, go to Lamp settings > Presence in the app. Raising the sensitivity helps
when you sit still for long stretches; you can also set the timeout up to 60 minutes or switch
presence detection off.

=== auto_light | Lumen Pro brightness changes by itself | Pro | n=2
U: The brightness of my Lumen Pro changes on its own during the day. How do I stop that?
U| Why does my Pro get dimmer in the afternoon? I didn't set anything.
A: That's Auto Light: the Pro has an ambient light sensor and adjusts its brightness to the
daylight in the room, so it dims when the sun comes in and brightens as it gets dark.

To turn it off, open Lamp settings > Auto Light in Brightfield Home and switch it off. If you
like the idea but find it too strong, keep it on and set a minimum brightness there instead.
A| It's the Auto Light feature. The Pro measures the light in the room and tops up what's
missing, which is why it dims when the afternoon sun hits your desk.

You can switch it off under Lamp settings > Auto Light, or keep it and set a lower and upper
limit so it never goes below the level you like. Tapping the lamp's dimmer also pauses Auto
Light until the next time you switch the lamp on.

=== accent_ring | Arc accent ring colour / turning it off | Arc
U: How do I change the colour of the ring on the back of my Lumen Arc? Or turn it off?
U| Can the Arc's RGB ring do anything other than the rainbow effect? It's a bit much.
A: The accent ring has its own controls in Brightfield Home: open the lamp and tap Accent ring.
There you can:

- pick any colour and set its brightness separately from the main light;
- choose an effect (Breathe, Sunset, Focus pulse) or none;
- switch the ring off entirely.

You can also save the ring's setting as part of a scene, so it changes with the main light.
A| The ring is fully adjustable. Open the Arc in Brightfield Home and tap Accent ring. Choose
"Static" for a single
colour of your choice, turn the brightness down if it's too bright, or pick a gentler effect
such as Breathe. The toggle at the top switches the ring off completely; the main light isn't
affected.

=== returns | Question about returns | *
U: What's your return policy? I'm not sure the {model} is right for my desk.
U| If I order a {model} and don't like it, can I send it back? Who pays shipping?
A: You have 30 days from delivery to return it, for any reason. The return is free:

1. Go to brightfield.example/returns and enter your order number and email.
2. Print the prepaid label (or show the QR code at a UPS store).
3. Pack the lamp with its accessories; the original box is nice but not required.

The refund goes back to your original payment method within 5–7 business days after the
parcel reaches our warehouse.
A| Yes, you can. Returns are free within 30 days of delivery, whatever the reason, including
"it didn't suit my desk". You request a prepaid label at brightfield.example/returns with your
order number, drop the parcel off with UPS, and we refund the full price to your original
payment method within 5–7 business days of receiving it.

=== shipping_us | Shipping time to {city} | *
U: I'm in {city}. How long does standard shipping take for a {model}, and is there express?
U| How fast can you ship to {city}? I need the lamp for a new home office next week.
A: US orders ship from our warehouse in Reno with UPS:

- Standard: 3–5 business days, free on orders over $50.
- Express: 1–2 business days for $14.90.

Orders placed before 2 pm Pacific on a business day leave the same day. You'll get a tracking
link by email as soon as the parcel is handed to UPS.
A| To {city}, standard shipping takes 3–5 business days and is free on orders over $50. If you
need it sooner, express delivery (1–2 business days) costs $14.90. Order before 2 pm Pacific
time and it ships the same day.

=== intl | Shipping to Canada | * | n=2
U: Do you ship to Canada?
U| I'm moving to Toronto soon. Can I order a {model} from the US store and have it delivered
there?
A: Yes, we ship to Canada from our Reno warehouse with UPS. Delivery takes 5–8 business days.
Duties and taxes are calculated at checkout and included in what you pay, so there's nothing
extra to pay at the door. Just choose Canada as the delivery country when you order.
A| We do. Canadian orders ship from Reno and usually arrive in 5–8 business days. Duties and
sales tax are shown at checkout and prepaid, so the courier won't ask you for anything on
delivery. The lamps come with a North American plug, so the adapter works as-is there.

=== warranty_info | Warranty coverage for {model} | *
U: What does the warranty on the {model} cover, and for how long?
U| How long is the warranty on Lumen lamps? Does it cover the LEDs?
A: Every Lumen lamp has a 2-year warranty from the delivery date. It covers manufacturing
defects: LEDs that fail or flicker, touch controls or sensors that stop working, faulty power
adapters, joints on the Arc that no longer hold. It doesn't cover accidental damage, wear like
scratches, or damage from using a third-party adapter with the wrong voltage.

If you bought Care+ ($29, within 60 days of purchase), the warranty runs 4 years in total.
For a claim, you'll just need the serial number from under the base.
A| Two years from delivery, covering defects in materials and workmanship, and that includes
the LEDs, the electronics, the sensors and the included adapter. Damage from drops or
spills isn't covered.

You can extend it to 4 years with Care+ ($29), which you can add in the app within 60 days of
buying the lamp.

=== change_address | Change shipping address for {order} | *
U: I entered my old address by mistake. Can I still change it?
D: Order: {order}
U| Need to change the shipping address on my order, I just moved.
D: Order number {order}
A: If the order hasn't shipped yet, yes. Sign in at brightfield.example, go to Orders, open
{order} and choose "Change address"; the option is there while the status says Processing. Most
orders ship within 24 hours, so it's worth doing right away.

If the button is gone, the parcel has already left. In that case use the link in your UPS
tracking email to redirect it, or let me know and we'll help you arrange it.
A| You can change it yourself as long as the order is still being prepared: Account > Orders >
{order} > Change address. Once it has shipped, that option disappears; UPS can usually still
reroute the parcel from the tracking page, and if that doesn't work we can help.

=== gift | Gift order: no prices on the packing slip | * | n=2
U: I'm ordering a {model} as a gift. Can you leave the price off the packing slip?
U| Is there a gift option? I want the {model} shipped directly to my brother without an invoice
in the box.
A: Yes. At checkout, tick "This is a gift". The packing slip then shows no prices, and you can
add a short message that we print on it. The invoice goes to your email only.

We don't gift-wrap, but the lamp comes in a plain outer shipping box, so the product box isn't
visible. If your recipient wants to return or exchange it, they can do that without the price
being revealed.
A| There is: choose "This is a gift" at checkout. We'll leave the prices off the packing slip,
print your message on it if you add one, and send the invoice to you by email instead.

If you've already ordered, reply with the order number and we'll add the gift option, as long as
it hasn't shipped yet.

=== adapter | Replacement power adapter for {model} | Pro,Arc
U: I lost the power adapter for my {model} while moving. What do I need to buy?
U| Which power supply does the {model} take? The original one got left at my old flat.
A: The {model} uses a {adapter} adapter. You can order the original one at
brightfield.example/parts for $19.

A third-party adapter works as long as it matches exactly: 24 V output, at least the same
wattage, and centre-positive polarity. A different voltage can damage the lamp, and that kind
of damage isn't covered by the warranty.
A| It's a {adapter} supply. The simplest is a replacement from brightfield.example/parts ($19,
ships in 1–2 days). If you buy another brand, make sure it says 24 V, the same wattage or more,
and centre-positive; anything else risks damaging the electronics.

=== led_life | Can the LED be replaced? | *
U: Can the LED in the {model} be replaced when it burns out?
U| What happens when the light in my {model} eventually dies? Is there a bulb I can swap?
A: There's no bulb to swap: the LEDs are built into the head, which lets us keep it thin and
cool. They're rated for 50,000 hours, which is around 17 years at 8 hours a day, so burning out
isn't something you should expect.

If they fail within the warranty, we replace the lamp. After that, we can replace the whole
head at a reduced price instead of you buying a new lamp.
A| The LEDs are integrated, so not by you, but you're unlikely to need to: they're rated for
50,000 hours. That's about 17 years of daily use. Their light output drops very slowly over
that time rather than failing suddenly.

Should something go wrong in the first two years, the warranty covers it. Later on, we offer
replacement heads at a reduced price.

=== cleaning | How to clean my {model} | *
U: What's the best way to clean my {model}? It's the {colour} one and it has a few marks.
U| How do I clean the diffuser without scratching it?
A: Use a soft microfibre cloth, dry or very slightly damp with water. For marks on the body, a
drop of mild soap in the water is fine; wipe dry afterwards.

Avoid alcohol, glass cleaner and anything abrasive on the diffuser (the white panel the light
comes through): they can cloud it. And unplug the lamp before cleaning the head.
A| A dry microfibre cloth handles dust and fingerprints. For anything stickier, dampen the
cloth with a little water and mild soap, wipe gently, then dry.

Please don't use alcohol, solvents or scouring pads on the diffuser, they leave it cloudy. On
the Brushed Brass finish, a dry cloth is best; the slight patina that develops over time is
normal.

=== eye_comfort | Is the {model} flicker-free? | *
U: I get headaches from cheap LED lamps. Is the {model} flicker-free?
U| Does the {model} use PWM dimming? I'm sensitive to flicker. Also what's the CRI?
A: Yes. Lumen lamps use DC dimming rather than PWM, so the light output stays steady at every
brightness level down to 1%. The {model} also has a colour rendering index (CRI) of {cri}, which
makes colours and text look natural and reduces strain over long sessions.

Many people with flicker sensitivity also find warmer light and lower brightness in the
evening more comfortable; the Wind Down scene does that automatically.
A| No PWM: all Lumen models use constant-current (DC) dimming, so there's no flicker at low
brightness either. The {model} has a CRI of {cri}.

If you've had headaches from lamps before, also watch out for glare: position the head so you
can't see the LEDs directly from your seat, and keep the brightness close to your screen's.

=== delete_account | Delete my account and data | * | n=2
U: How do I delete my Brightfield account and the data you have about me?
U| I'd like my account and personal data removed. What happens to my lamp afterwards?
A: You can do it in the app: Profile > Privacy > Delete account. We then delete your account,
routines, usage data and contact details within 30 days. Order records are kept as long as tax
law requires, but they're no longer linked to an app account.

Your lamp keeps working with its touch controls after that. To use it with the app again later,
reset it and set it up with a new account.
A| In Brightfield Home, go to Profile > Privacy > Delete account and confirm. Everything tied to
the account (routines, scenes, usage statistics, contact details) is deleted within 30 days.
You can also email privacy@brightfield.example if you no longer have the app.

The lamp itself isn't locked to your account: it keeps working with the touch controls, and
after a factory reset anyone can set it up again.

=== schedule_tz | Routine runs one hour late | *
U: My wake-up routine on the {model} fires an hour late since last weekend. Nothing changed.
U| The lamp turns on at the wrong time every morning. It's exactly one hour off.
A: An hour off after a weekend is almost always daylight saving time. Please check Brightfield
Home > Settings > Location & time zone and make sure it's set to your city rather than a fixed
UTC offset; with a city selected, the app handles the clock change.

Then open the app near the lamp once so it picks up the corrected time. The routine should run
on time from the next morning.
A| Exactly one hour usually means a time zone setting that doesn't follow daylight saving. In
the app, go to Settings > Location & time zone and choose your city from the list (not
"UTC−5" or similar). Open the lamp in the app once afterwards so it syncs the time.

=== power_on | Lamp turns on after a power cut | *
U: We had a power cut last night and my {model} turned on at full brightness at 3am. Can I
stop that?
U| After a power outage the lamp comes back on by itself. Is that a setting?
A: Yes, it's the "Power-on behaviour" setting. In Brightfield Home: Lamp settings > Power >
Power-on behaviour. You can choose:

- Last state (it returns to whatever it was doing, on or off),
- Off,
- On at 50%.

"Last state" is what most people want at night: if the lamp was off when the power went, it
stays off.
A| It's adjustable. Open the lamp in the app, then Lamp settings > Power > Power-on behaviour,
and pick "Last state" or "Off". The lamp will then stay dark after a power cut if it was off
before. The setting is saved on the lamp, so it works even when your phone isn't around.

=== student | Student discount? | * | n=2
U: Do you have a student discount?
U| I'm a grad student and would love a {model}. Any student pricing?
A: We do: students get 10% off any Lumen lamp. Verify your student status at
brightfield.example/students (it takes a minute with your university email), and you'll get a
one-time code to enter at checkout. It can't be combined with other promotions, but it does
apply to sale prices.
A| Yes, 10% off for students. Go to brightfield.example/students, verify with your school
email, and you'll receive a code for one order. On a Lumen Arc, that's almost $25 off.

=== business | Volume pricing for {qty} lamps | *
U: We're fitting out an office and need {qty} lamps, probably the {model}. Do you offer volume
pricing?
U| Hi, I'm ordering for our team ({qty} desks). Is there a business discount and can we get one
invoice?
A: Yes. For orders of 10 or more lamps, our business team offers volume pricing, a single
invoice with your company details and VAT number, and payment by bank transfer on 30-day terms.

Email business@brightfield.example with the models, quantities and delivery address, and
they'll send a quote within one business day.
A| For {qty} lamps you qualify for business pricing (it starts at 10 units). Please write to
business@brightfield.example with the model mix and your company details; they'll reply with a
quote, usually the same day, and can invoice everything at once.
"""

EN_MULTI = """
=== offline | Lamp shows Offline | Pro,Arc | min=2
U: My {model} shows "Offline" in the app since this morning. Nothing changed on my end.
U| Lamp went offline overnight and I can't control it from the app anymore. It's a {model}.
A: Let's find out where the connection drops. Two quick questions:

1. Does the lamp still respond to its touch controls?
2. Did anything happen with your router recently, like a restart, a firmware update from your
internet provider, or a new router?
A| Sorry about that. First, does the lamp still react when you touch the controls on it? And do
you know if your router restarted or updated overnight? Providers often push updates at night,
and that's the most common reason a lamp drops off.
U: Touch controls work fine. It's the {router}, and I think my provider did push an update
last night.
U| Yes, the touch controls work. Router is the {router}; no idea about updates, but the internet
was down for a bit yesterday evening.
A: Then the lamp itself is fine and it's the connection. Router updates sometimes change
settings the {model} depends on. Please try:

1. Unplug the lamp for 10 seconds and plug it back in; it retries the connection on start.
2. If it stays offline, open Lamp settings > Wi-Fi > Reconnect in the app.
3. If that fails, check in the router settings that the 2.4 GHz band is still on and that
security is WPA2 or WPA2/WPA3 (not WPA3-only). Updates sometimes merge the 2.4 and 5 GHz
networks into one name, which can also trip it up.
A| Good, that rules out a hardware problem. Start with a power cycle: unplug the lamp for
10 seconds. If it's still offline after a minute, use Lamp settings > Wi-Fi > Reconnect.

If neither works, the router probably changed something. Check that 2.4 GHz is enabled, that
the network name and password are the same as before, and that security isn't set to WPA3
only.
U: The update had merged the 2.4 and 5 GHz networks under one name. I split them again and the
lamp reconnected straight away. Thanks!
U| Found it, the router had switched to WPA3 only. Changed it back and the lamp is online again.
A: Great, glad it's back. If your provider does this again, the same fix applies. And if you
ever change the Wi-Fi password, use Lamp settings > Wi-Fi > Reconnect instead of a full reset;
your scenes and routines stay in place.
A| Perfect, thanks for letting me know what it was. Worth remembering for the next router
update. Enjoy the lamp!

=== choose_model | Choosing a model | * | min=2
U: I'm trying to decide between the three Lumen lamps. Small desk (about 100 cm wide), I read
paper documents a lot and have a big monitor. Which one would you recommend?
U| Which Lumen should I get? I work from home on a laptop + external monitor, desk is not huge,
and I'd like good light for reading in the evening.
A: For that setup I'd look at the Lumen Arc or the Lumen Pro.

- Lumen Arc ($249): the arm lets you bring the head over the documents and keep light off the
monitor, and its asymmetric optics are designed to avoid screen glare. 1200 lm, 2200–6500 K,
so very warm in the evening. It can clamp to the desk edge to save space.
- Lumen Pro ($189): compact base, 900 lm, 2700–6500 K, with a presence sensor and auto
brightness. Great light for reading, a bit less flexible in positioning.
- Lumen Mini ($79): lovely as a bedside or secondary lamp, but at 450 lm it's on the dim side
as your main desk light.

With a large monitor on a small desk, the Arc with the clamp is the most practical.
A| On a small desk with a big monitor, positioning matters most, so my first pick is the
Lumen Arc: the arm reaches over your papers, the head is shaped to keep glare off the screen,
and the clamp (sold separately) frees up desk space. If you prefer something compact that just
sits in a corner, the Lumen Pro is excellent for reading too and has a presence sensor that
turns it off when you leave. The Mini is better as a bedside lamp.
U: OK, the Arc sounds right. What colours does it come in, and will it be here before the
weekend if I order today?
U| Arc it is, I think. Which colours are there? And how fast is delivery?
A: The Arc comes in Chalk White, Graphite, Sage Green and Brushed Brass.

With standard shipping (free, 3–5 business days) it may not arrive before the weekend,
depending on where you are. Express (1–2 business days, $14.90) will, if you order before
2 pm Pacific.
A| Four finishes: Chalk White, Graphite, Sage Green and Brushed Brass. Standard delivery takes
3–5 business days; if you need it by the weekend, choose express at checkout ($14.90, 1–2
business days, same-day dispatch before 2 pm Pacific).
U: And if it turns out too big for my desk, I can send it back, right?
U| Last thing: if I don't like it, can I return it?
A: Yes, you have 30 days from delivery to return it for any reason, with a free return label,
and the refund comes back to your payment method within a week of us receiving it. So you can
try it properly at your desk.
A| Of course. 30 days from delivery, free return label, full refund. Keep the packaging for a
few weeks if you can; it makes the return easier, though it isn't required.
U: One more: is the desk clamp included with the Arc?
U| Does the Arc come with the clamp, or is that extra?
A: It isn't included: the Arc ships with its weighted base, and the Arc Desk Clamp is an
accessory for $29. You can add it to the same order; it fits desks from 12 to 65 mm thick.
A| The clamp is sold separately ($29); the Arc comes with the weighted base. If you add both to
your cart, they ship together.

=== mini_turns_off | Mini switches off randomly | Mini | min=2
U: My Lumen Mini turns off at random moments, sometimes after a few minutes, sometimes after an
hour. It's only two weeks old.
U| The mini keeps shutting itself off. no pattern that I can see. any ideas?
A: Random switch-offs on the Mini are almost always about power. How is it plugged in: the
adapter that came with it, or a USB port on a computer, monitor or hub?
A| Let's check the power first, since that's the usual cause. What is the Mini plugged into at
the moment? The included adapter, a power strip, or a USB port on another device?
U: It's plugged into the USB-C port on my monitor, so I don't need another socket.
U| I'm using a USB-C hub on my desk, the adapter is in a drawer somewhere.
A: That explains it. The Mini needs a steady 15 W (5 V / 3 A). Monitor ports and hubs often
share their power between devices and lower it when something else draws current, or when the
monitor goes to standby. When the supply drops too far, the Mini switches off to protect itself.

Try the included 20 W adapter for a day or two. If it stays on, that was it. If you really want
to keep it on the desk port, check whether your monitor has a "USB power in standby" setting.
A| That's very likely the cause. Hubs and monitor ports split their power between everything
connected, and when the Mini gets less than it needs (15 W), it shuts off. A monitor going into
standby can cut the power as well.

Please use the original adapter, or any USB-C charger of 15 W or more, and see if it stays on.
U: Switched to the adapter yesterday and it's been on all evening. Thanks, that was it.
U| It's been fine since I moved it to a phone charger. Appreciate the help!
A: Glad to hear it! If it ever switches off again while on the adapter, let me know, because
then it's worth checking the lamp itself under warranty.
A| Great news. Thanks for reporting back, and enjoy the Mini.

=== wake_routine | Setting up a wake-up light | * | min=2
U: Can my {model} work as a wake-up light? I'd like it to slowly get brighter before my alarm.
U| I want the lamp to fade in gradually in the morning like a sunrise alarm. Is that possible?
A: Yes. In Brightfield Home:

1. Go to Routines > New routine > Wake up.
2. Set the time you want it fully bright, e.g. 7:00.
3. Choose the fade duration (10 to 45 minutes) and the final brightness and colour temperature.
4. Pick the days and save.

The lamp starts at 1% very warm light and brightens gradually until your set time.
A| It can. Create a Wake up routine: Routines > New routine > Wake up. You set the end time, how
long the fade lasts (up to 45 minutes), and how bright and cool it should be at the end. It
starts from a faint warm glow, a bit like a sunrise.
U: Nice. Can I have a different time on weekends?
U| Great, and can weekends be later?
A: Yes, make two routines: one for Monday to Friday at your weekday time, and a second Wake up
routine for Saturday and Sunday at the later time. Each routine has its own day selector.
A| Sure, just create a second Wake up routine with only Saturday and Sunday selected and a later
time, and untick the weekend days in the first one.
U: Last question: can it switch off by itself later in the morning, say at 9?
A: Add a third routine of the type "Turn off" at 9:00 on the days you want. If you'd rather it
stayed on while you're at the desk, you can leave that out.
A| Yes, with a "Turn off" routine at 9:00. Routines run on the lamp itself, so your phone doesn't
need to be nearby at the time.
U: And can the same routine run on my second lamp too?
U| Can both of my lamps do this together?
A: Yes. Open the routine, tap Lamps and select both; they'll fade in together. If they're
different models, each ends at its own brightest setting, so they may look slightly different.
A| Sure: in the routine, tap Lamps and tick the second lamp as well. Both then follow the same
schedule.

=== setup_android | App can't find the lamp during setup | Pro,Arc | min=2
U: The Brightfield Home app can't find my new {model} during setup. It just keeps searching.
D: Phone: {android}, Android 14
U| Setting up a {model} and the app is stuck on "Searching for lamps…". The lamp is blinking
white.
A: On Android, this is usually a permission issue: the app needs Bluetooth and "Nearby devices"
permission to find a new lamp. Please check:

1. Bluetooth is on.
2. Settings > Apps > Brightfield Home > Permissions: "Nearby devices" is allowed (on older
Android versions it's "Location").
3. The lamp is blinking white, which means it's in setup mode. If it isn't, hold the power
button for 10 seconds.

Then close the app completely and open it again.
A| A blinking white light means the lamp is ready to pair, so the phone is the part not seeing
it. Could you check that Brightfield Home is allowed "Nearby devices" in your phone's app
permissions, and that Bluetooth is on? Without that permission Android hides Bluetooth devices
from the app. Restart the app after changing it.
U: That was it, permission was off. Now it found the lamp but the Wi-Fi step fails.
U| OK the lamp shows up now, but it gets stuck at "Connecting to Wi-Fi".
A: Progress! The Wi-Fi step almost always comes down to the band: the {model} only uses
2.4 GHz. If your router uses one network name for 2.4 and 5 GHz, temporarily split them or turn
off band steering, then choose the 2.4 GHz network in the app. Also check that security is
WPA2 or WPA2/WPA3, not WPA3-only.
A| The lamp needs a 2.4 GHz network. Does your router have separate networks for 2.4 and 5 GHz,
or one name for both? If it's one, the setup often fails; split them (or disable band steering)
in the router settings for the setup, then pick the 2.4 GHz one.
U: Split the bands and it connected. All good now.
A: Excellent. You can merge the networks again if you like; the lamp remembers the 2.4 GHz
connection. Enjoy it!

=== arc_wobble | Arc arm droops | Arc | min=2
U: The arm of my Lumen Arc slowly sinks down when I position the head higher. Can that be fixed?
U| my arc doesn't stay where I put it, the head slowly drops. is this a defect?
A: It's usually just the tension, which you can adjust. There's a 4 mm hex screw on the elbow
joint (the middle one). Turn it a quarter turn clockwise, test, and repeat until the arm holds
its position. The hex key is stored in a slot under the weighted base.

Don't overtighten: the arm should still move smoothly by hand.
A| Most likely the joint tension needs a tweak; it can settle a bit in the first weeks. Use the
4 mm hex key from the slot under the base and tighten the screw on the middle joint by a
quarter turn at a time until the head stays put.
U: I can't find the key, I think it went out with the packaging.
U| The key isn't under the base anymore. Can I use any hex key?
A: Any standard 4 mm hex key (Allen key) works, for example from a furniture kit or a bike
multitool. If you don't have one, we can post you a replacement for free.
A| Yes, any 4 mm hex key does the job. If you don't have one around, tell me your address and
we'll send one free of charge.
U: Found one in my toolbox, tightened it and it holds now. Thanks!
A: Great, happy it was an easy fix. If it loosens again over the coming weeks, a small extra
quarter turn is normal; if it keeps happening, let us know and we'll look at the joint.
A| Perfect! Thanks for letting me know.

=== colour_exchange | Colour not as expected | * | min=2
U: My {model} arrived today in {colour}, but it looks much greyer than on the website. Is that
normal?
U| Honestly the {colour} {model} looks different from the photos. Bit disappointed.
A: I'm sorry it isn't what you expected. Our finishes are matte and change quite a lot with the
light in the room: under cool daylight or a cool white bulb, {colour} looks greyer, and under
warm light it looks closer to the product photos. Screens also show colours differently.

If you still don't like it, you can exchange it for another colour free of charge within
30 days of delivery.
A| Sorry about that. The matte finish reacts to the light around it, so {colour} can look more
muted under daylight than in our photos. That said, you should be happy with it on your desk:
we exchange colours for free within 30 days of delivery if you'd prefer a different one.
U: I think I'd rather have it in {other_colour}. How does the exchange work?
U| How do I swap it for another colour?
A: Go to brightfield.example/returns, enter your order number, choose "Exchange" and select the
new colour. We ship the new lamp as soon as your return is scanned by the carrier, so you're
not without a lamp for long. The return label is free.
A| At brightfield.example/returns, pick your order, choose "Exchange" and the colour you want.
Print the free label and drop the lamp off; the replacement goes out as soon as the parcel is
scanned.
U: Will I be charged again for the new one?
A: No. As long as the new colour is the same model and price, an exchange costs nothing; no
second charge is made on your card.
A| No, exchanges for the same model are free. There's no new charge and no refund to wait for.

=== matter_fail | Matter pairing fails | Pro,Arc | min=2
U: Apple Home keeps saying "Accessory not found" when I try to add my {model}.
U| Matter pairing with Apple Home doesn't work for my {model}, it times out.
A: Let's check the basics first. Which firmware is on the lamp? You'll find it in Brightfield
Home under Lamp settings > Firmware. Matter needs version 4.0 or later.
A| Which firmware version does the lamp have? (Brightfield Home > Lamp settings > Firmware.)
Matter support arrived with 4.0, so older versions won't show up in Apple Home.
U: It says {fw_legacy}.
U| Firmware {fw_legacy}.
A: That's the cause: {fw_legacy} predates Matter support. Update first (Lamp settings > Firmware
> Update, about three minutes) to get {fw_new}. Then:

1. In Brightfield Home: Lamp settings > Matter > Pair with another app.
2. In Apple Home: "+" > Add Accessory, scan the QR code shown in our app.
3. Keep your iPhone on the same Wi-Fi as the lamp during pairing.

If it still times out, restart the home hub (HomePod or Apple TV); it does the pairing in the
background.
A| Then that's why: Matter arrived with 4.0, so install {fw_new} first under Lamp settings >
Firmware. After the update, generate a fresh code in Brightfield Home (Lamp settings > Matter >
Pair with another
app) and scan that one, not the sticker. Old codes expire after 15 minutes. Your iPhone needs
to be on the same network as the lamp.
U: Worked after the update! But it reacts a bit slowly from Apple Home, about a second.
A: That's normal with Matter over Wi-Fi when the command goes through your home hub first. If
it's much slower than a second, move the hub and the lamp onto the same Wi-Fi band, or restart
the hub. Control from Brightfield Home stays instant either way.
A| Around a second is within the normal range for Matter via a home hub. If it becomes several
seconds, restarting the hub usually helps.

=== gift_dad | Buying a lamp as a gift | * | min=2
U: I want to buy a lamp for my dad's birthday on the 20th. He's not very techy. Which one is
easiest?
U| Looking for a gift for my father, 70, reads a lot in the evening. Simple to use is important.
A: The Lumen Mini is the simplest: it works entirely from the touch strip on the lamp (tap to
switch on, slide to dim, double-tap to change warmth), no app or Wi-Fi needed. For a lot of
evening reading, though, the Lumen Pro gives twice the light (900 lm) and is just as easy to use
with its touch ring; the app is optional.

For a reader, I'd go with the Pro.
A| For someone who reads a lot, the Lumen Pro: it's bright (900 lm), has excellent colour
rendering for printed pages, and everything works from the touch ring on the base. No app
needed. If he mostly wants a cosy bedside light, the Mini is simpler still and more
affordable.
U: OK, Pro. Can it be delivered straight to him with a gift note and no price?
U| Great, can I ship it directly to him as a gift?
A: Yes, choose "This is a gift" at checkout: the packing slip comes without prices and with
your message printed on it; the invoice goes to your email. To be sure it arrives by the 20th,
order at least 5 business days before with standard shipping, or pick express.
A| Of course. Tick "This is a gift" at checkout and add your message. We'll leave prices off the
packing slip. Standard shipping takes 3–5 business days, so plan with that in mind for the 20th.
U: He doesn't have a smartphone. Is that a problem?
U| One worry: my dad has no smartphone. Will the lamp still work properly?
A: Not at all. The Pro works fully from its touch ring: tap to switch it on or off, swirl a
finger around the ring to dim, hold for two seconds to change the warmth. The app is only
needed for extras like routines, Circadian mode or firmware updates.
A| No problem. Everything day-to-day happens on the lamp itself: tap the touch ring to switch
it on, swirl to dim, hold to change the colour temperature. The app adds extras, but the lamp
doesn't need it.
"""

EN_WEIGHT0 = """
=== greeting | Greeting, then a question | * | min=2
U: hi
U| Hello?
U| hey there
A0: Hi! Thanks for contacting Brightfield support. How can I help you today?
A| Hello and welcome to Brightfield! What can I do for you?
U: My {model} makes a faint high-pitched whine when I dim it below about 10%. Is that normal?
U| there's a quiet buzzing sound from my {model}, only at low brightness. Should I worry?
A: A very faint sound can come from the driver electronics at low brightness, but you shouldn't
hear it from your normal seating position. If you can, that's a defect and it's covered by the
warranty.

Please send me the serial number (on the sticker under the base, or in the app under Lamp
settings > About) and, if possible, a short video with sound. We'll arrange a replacement.
A| It shouldn't be audible at a normal distance. Some electronics hum very quietly, but if it
bothers you at your desk, we treat it as a warranty defect. Could you share the serial number
from under the base? Then we can set up a replacement for you.
U: It's {serial}.
U| Serial is {serial}. I can record a video tonight if that helps.
A: Thank you, that's all we need. We'll send a replacement {model} with a prepaid label for the
current one, so you can swap them when the new one arrives. A short clip of the noise is still
welcome, as it helps our engineers.
A| Perfect, thanks. The serial checks out, so a replacement can go out straight away, together
with a free return label for this one. If you do record the sound, reply with it here; it goes
to our quality team.

=== outdated_policy | Return window confusion | * | min=2
U: How long do I have to return the {model}? It arrived on {delivered_txt}.
U| What's the return window? I got my {model} on {delivered_txt} and I'm not sure about it.
A0: Returns are accepted within 14 days of delivery, provided the item is unused and in its
original packaging.
A| You can return items within 14 days of delivery if they're unused and in their original box.
U: Your website says 30 days and that opened items are fine?
U| That's not what the returns page says. It says 30 days.
A: You're right, and I'm sorry for the confusion. Our return window is 30 days from delivery,
and opened or used lamps are fine as long as all parts are included. Since yours arrived on
{delivered_txt}, you have until {return_by_txt}. Start the return at
brightfield.example/returns to get the free label.
A| Apologies, you're correct: it's 30 days from delivery, and the lamp doesn't need to be
unused or in the original box. For your order that means until {return_by_txt}. The free return
label is at brightfield.example/returns.

=== email_deflect | Deflected to email | Pro,Arc | min=2
U: My {model} won't stay connected to Wi-Fi, it drops every evening around 8pm.
U| lamp disconnects from wifi every night, always around the same time. {model}.
A0: We're sorry to hear that. Please email support@brightfield.example with a description of the
problem and our team will get back to you within 48 hours.
U: Can't you help me here? I'd rather not wait two days.
U| I'm already talking to support, can we sort this out now?
A: Of course, let's do it here. A drop at the same time every evening usually points at the
router rather than the lamp: many routers run a scheduled channel scan or reboot at night, or
your provider's app may have a "Wi-Fi schedule" turned on.

1. Check the router's settings for a nightly restart, channel optimisation or Wi-Fi schedule.
2. If you can, set the 2.4 GHz channel to a fixed one (1, 6 or 11) instead of automatic.
3. After the next drop, see whether the lamp reconnects by itself within a few minutes. It
retries every 30 seconds.

Tell me what you find, and we'll take it from there.
A| Sure. Since it happens at the same time every day, I'd look at the router first: automatic
channel changes or scheduled restarts in the evening are common, and the lamp drops when the
2.4 GHz channel changes. Setting a fixed channel (1, 6 or 11) usually stops it. Does it come
back on its own after a few minutes, or stay offline until you power-cycle it?

=== wrong_model | Answer for the wrong model | Mini | min=2
U: How do I turn off the sensor that switches my lamp off when I walk away?
U| My lamp turns off after a while when I'm not moving. How do I disable that?
A0: You can turn off the presence sensor in Brightfield Home: open the lamp, go to Lamp
settings > Presence and switch off "Turn off when nobody is around".
U: I have a Lumen Mini and there's no Presence option in the settings.
U| There's no such setting, my lamp is a Mini.
A: Sorry, my mistake: the presence sensor is a Lumen Pro feature, and the Mini doesn't have one.
On the Mini, the usual reason is the Auto-off timer. Open the lamp in Brightfield Home, then
Lamp settings > Auto-off, and set it to "Never" (or a longer duration).

If Auto-off is already off, check Routines for a "Turn off" routine; one may have been created
during setup.
A| My apologies, that was for the Lumen Pro. The Mini has no presence sensor; what switches it
off is the Auto-off timer. You'll find it under Lamp settings > Auto-off, where you can set it
to Never. If it's already off, have a look in Routines for a Turn off routine.

=== restart_first | Generic answer to a firmware error | * | min=2
U: The app says "Update failed (error 3)" every time I try to update my {model}.
U| firmware update fails with error 3 on my {model}. what does it mean?
A0: Have you tried restarting your phone and the app?
A| Please try restarting your phone and reopening the app.
U: Yes, twice. Same error.
U| Already did that, didn't help.
A: Thanks for trying. Error 3 means the lamp couldn't download the update file completely, so
it's about the connection rather than your phone.

- For the Pro and Arc: move the lamp closer to the router for the update, or restart the
router, then try again.
- For the Mini: keep your phone within 2 metres of the lamp and the app open in the foreground
for the whole update (about six minutes); it's transferred over Bluetooth.

Nothing is lost when it fails; the lamp keeps its current firmware.
A| Sorry, that wasn't much help. Error 3 is a download error: the update file didn't arrive in
full. On the Pro and Arc this comes from a weak Wi-Fi signal, so try closer to the router. On
the Mini, keep the app open and the phone right next to the lamp during the update. Your current
firmware stays in place until a complete file has arrived, so it's safe to retry.

=== needless_order | Asked for an order number needlessly | * | min=2
U: Does the Lumen Pro work with Google Home?
U| Quick one: can I control the Lumen Pro with Google Home?
A0: I'd be happy to look into this. Could you please share your order number?
U: It's a general question, I haven't bought it yet.
U| I don't have one, I'm still deciding.
A: Sorry, you don't need an order for that. Yes, the Lumen Pro works with Google Home, either
through Matter (firmware 4.0 and later, which all lamps ship with now) or by linking your
Brightfield account in the Google Home app under Works with Google. You can then control it by
voice and include it in Google Home routines. The same goes for the Lumen Arc; the Mini is
Bluetooth-only and doesn't support Google Home.
A| Of course, no order needed. Yes, it does: the Pro supports Matter, so it adds to Google Home
like any Matter light, and you can control brightness and colour temperature by voice. The Arc
works the same way. The only model without Google Home support is the Mini, which is
Bluetooth-only.
"""

EN_TOOLS = """
=== wismo | Where is my order | * | n=5 min=1 tools=lookup_order,create_refund
U: Where's my order {order}? I ordered a {model} a few days ago.
U| hi, any update on {order}? the tracking hasn't changed since yesterday
U| Could you check on order {order} for me? I'd like to know when it's arriving.
C: lookup_order {"order_id": "{order}"}
R: {"order_id": "{order}", "status": "in_transit", "placed_at": "{placed_iso}",
"customer": {"first_name": "{name}"},
"items": [{"sku": "{sku}", "name": "{model}", "colour": "{colour_en}", "quantity": 1,
"unit_price": "{price}"}],
"currency": "{currency}", "total": "{price}",
"shipping": {"carrier": "UPS", "service": "standard", "tracking_number": "{tracking}",
"shipped_at": "{shipped_iso}", "estimated_delivery": "{eta_iso}"}}
A: Your {model} in {colour} is on its way. It left our Reno warehouse on {shipped_txt} with UPS
and is expected on {eta_txt}. You can follow it with tracking number {tracking} on ups.com.

Tracking sometimes pauses for a day while a parcel travels between hubs, so don't worry if it
doesn't update every day.
A| Good news, {name}: order {order} shipped on {shipped_txt} and UPS expects to deliver it on
{eta_txt}. The tracking number is {tracking} if you want to follow it on the UPS site or app.
U: Can UPS leave it with a neighbour if I'm not home?
U| Is there any way to have it delivered to my office instead?
A: Once a parcel has shipped we can't change the delivery from our side, but UPS can. With a
free UPS My Choice account and the tracking number {tracking}, you can leave delivery
instructions (a neighbour or a safe place), pick another day, or redirect it to a UPS Access
Point near you.
A| That's done directly with UPS now that it's on its way. Enter the tracking number {tracking}
in UPS My Choice (free) and choose "Change delivery": you can redirect it to another address or
a pickup point, or leave instructions for the driver. Redirects to a new address may add a day.

=== ask_order | Order not shipped yet | * | n=5 min=2 tools=lookup_order
U: Hi, I ordered a lamp last week and still haven't got a shipping email.
U| I haven't heard anything about my order since I placed it. Is something wrong?
A: Let me check that for you. Could you give me your order number? It starts with "BF-" and is
in your confirmation email.
A| I can look into it. What's the order number? It's "BF-" followed by six digits, at the top
of the confirmation email.
U: It's {order}.
U| {order}
U| sure, {order}
C: lookup_order {"order_id": "{order}"}
R: {"order_id": "{order}", "status": "processing", "placed_at": "{ordered_iso}",
"customer": {"first_name": "{name}"},
"items": [{"sku": "{sku}", "name": "{model}", "colour": "{colour_en}", "quantity": 1,
"unit_price": "{price}", "backordered": true}],
"currency": "{currency}", "total": "{price}", "payment": "authorized",
"expected_ship_date": "{ship_later_iso}"}
A: Thanks, {name}. I found it: the {model} in {colour} is on backorder, which is why it hasn't
shipped. It's expected to leave our warehouse on {ship_later_txt}. I'm sorry nobody told you.

You have a few options:
- wait for it; you'll get the tracking email the day it ships,
- switch to a colour that's in stock, which ships the same day,
- cancel for a full refund.

Your card has only been authorised so far; we charge it when the order ships.
A| Thanks! Order {order} is still processing because the {colour} {model} is on backorder. The
new stock should let it ship on {ship_later_txt}. Sorry for the silence, you should have had an
email about that.

If you'd rather not wait, you can change the colour or cancel from your account page (Orders >
{order}); nothing has been charged yet, only authorised.
U: I'll wait. Will I get an email when it ships?
U| OK, I'll keep the colour. Do I need to do anything?
A: Nothing to do on your side. The tracking email goes out automatically the day it ships, and
the payment is taken at the same time.
A| No, it's all set. You'll get an email with the UPS tracking number as soon as it leaves the
warehouse, around {ship_later_txt}.

=== delivered_missing | Delivered but not received | * | n=4 tools=lookup_order,create_refund
U: I just got back from a trip and the tracking for {order} says it was delivered, but there's
nothing at my door.
U| Order {order} shows as delivered but I never got it. Not in the mailbox, not at the door.
C: lookup_order {"order_id": "{order}"}
R: {"order_id": "{order}", "status": "delivered", "placed_at": "{ordered_iso}",
"customer": {"first_name": "{name}"},
"items": [{"sku": "{sku}", "name": "{model}", "colour": "{colour_en}", "quantity": 1,
"unit_price": "{price}"}],
"currency": "{currency}", "total": "{price}",
"shipping": {"carrier": "UPS", "tracking_number": "{tracking}",
"delivered_at": "{delivered_iso}", "delivery_note": "Left at front door"}}
A: I'm sorry, that's frustrating. UPS recorded the delivery on {delivered_txt} with the note
"Left at front door". A few things worth checking first:

1. Neighbours, a building mailroom or a reception desk, in case someone took it in.
2. Any safe spot around the entrance (behind plants, a side door, the garage).
3. The UPS app: delivery photos are sometimes attached to the tracking number {tracking}.

If it doesn't turn up, let me know. We'll open a claim with UPS and send you a new {model} or
refund the {price_txt}, whichever you prefer; you won't have to wait for the claim to finish.
A| Sorry about this, {name}. Our records show UPS marked it delivered on {delivered_txt} and
left it at the front door. Since you were away, a neighbour may have taken it in, so that's
the first place to ask. UPS also sometimes adds a photo of the drop-off to the tracking page for
{tracking}.

If it's still missing after you've checked, reply here and we'll replace it or refund you in
full. You don't need to file anything with UPS yourself.

=== refund_return | Return and refund | * | n=5 min=1
U: I'd like to return my {model} (order {order}). It works fine, it's just too big for my desk.
U| Please refund order {order}. The {model} isn't for me, but it's in perfect condition.
U| Hi, I want to send back the lamp from {order} and get my money back. Changed my mind, sorry!
C: lookup_order {"order_id": "{order}"}
R: {"order_id": "{order}", "status": "delivered", "placed_at": "{ordered_iso}",
"customer": {"first_name": "{name}"},
"items": [{"sku": "{sku}", "name": "{model}", "colour": "{colour_en}", "quantity": 1,
"unit_price": "{price}"}],
"currency": "{currency}", "total": "{price}",
"shipping": {"carrier": "UPS", "tracking_number": "{tracking}", "delivered_at": "{delivered_iso}"},
"return_eligible_until": "{return_by_iso}"}
C: create_refund {"order_id": "{order}", "reason": "changed_mind", "amount": "{price}"}
R: {"refund_id": "{refund_id}", "order_id": "{order}", "status": "awaiting_return",
"amount": "{price}", "currency": "{currency}",
"return_label_url": "https://brightfield.example/returns/label/{refund_id}",
"label_valid_days": 14}
A: No problem, it's all set up. Your return {refund_id} is open for {price_txt}:

1. Print the prepaid label: https://brightfield.example/returns/label/{refund_id} (we've emailed
it too).
2. Pack the {model} with its adapter and drop it off at any UPS location within 14 days.
3. Once it reaches our warehouse, the {price_txt} goes back to your original payment method
within 5–7 business days.
A| Done, {name}. I've opened return {refund_id} for the full {price_txt}. The prepaid UPS label
is here: https://brightfield.example/returns/label/{refund_id} and it's valid for 14 days. As
soon as the lamp is back with us, the refund goes to your original payment method; allow 5–7
business days for it to show.
U: Do I need the original box?
U| Does it have to be in the original packaging?
A: No, any sturdy box works. Just wrap the head well and include the power adapter. The
original box is handy if you still have it, but it isn't required.
A| Not at all. Any box that protects the lamp will do, with some padding around the head; just
include the adapter and cable.

=== damaged_partial | Arrived damaged, keeps it | * | n=4
U: My {model} arrived with a deep scratch across the base (order {order}). It works, so I'd keep
it if you can give me something back.
U| The {model} from order {order} came with a small dent in the head. It works fine though.
Could I get a partial refund instead of sending it back?
C: lookup_order {"order_id": "{order}"}
R: {"order_id": "{order}", "status": "delivered", "placed_at": "{ordered_iso}",
"customer": {"first_name": "{name}"},
"items": [{"sku": "{sku}", "name": "{model}", "colour": "{colour_en}", "quantity": 1,
"unit_price": "{price}"}],
"currency": "{currency}", "total": "{price}",
"shipping": {"carrier": "UPS", "tracking_number": "{tracking}", "delivered_at": "{delivered_iso}"},
"return_eligible_until": "{return_by_iso}"}
A: I'm sorry it arrived like that, {name}. Two options:

- keep the lamp and I refund {partial_txt} right away, or
- we send you a new {model} and you return this one with a free label.

Which would you prefer?
A| Sorry about the damage. I can refund {partial_txt} and you keep the lamp as it is, or we
replace it entirely. Just tell me which you'd like.
U: The partial refund is fine, thanks.
U| I'll take the refund and keep it.
C: create_refund {"order_id": "{order}", "reason": "damaged", "amount": "{partial}"}
R: {"refund_id": "{refund_id}", "order_id": "{order}", "status": "approved",
"amount": "{partial}", "currency": "{currency}", "method": "original_payment",
"expected_within_business_days": 5}
A: Done: a refund of {partial_txt} ({refund_id}) is approved and will reach your original
payment method within 5 business days. There's nothing to send back. If the damage turns out to
affect how the lamp works, the warranty still applies as normal.
A| All done. Refund {refund_id} for {partial_txt} is approved; expect it on your statement within
5 business days. No need to return anything, and your warranty isn't affected.

=== warranty_active | Dead lamp under warranty | * | n=4 min=1 tools=check_warranty,lookup_order
U: My {model} stopped turning on. No light at all, the touch controls do nothing. Serial is
{serial}.
U| Lamp is dead since this morning. {model}, serial {serial}. Is it still under warranty?
C: check_warranty {"serial_number": "{serial}"}
R: {"serial_number": "{serial}", "model": "{model}", "purchase_date": "{purchase_iso}",
"warranty_until": "{warranty_iso}", "status": "active", "care_plus": false}
A: It's covered: your {model} is under warranty until {warranty_year}.

Before we replace it, one quick check, since it rules out the most common cause: plug it into a
different socket, and if you have another suitable adapter, try that too. A failed adapter
looks exactly like a dead lamp.

If it stays dark, file the claim at brightfield.example/warranty with the serial {serial}. A
replacement ships within 2 business days, with a prepaid label for the old one.
A| Sorry it's stopped working. The good news: the warranty runs until {warranty_year}, so this
is covered. Could you try another socket first? If it's the adapter that failed, we can just
send you a new one rather than swapping the whole lamp.
U: Tried another socket and a different adapter, still nothing.
U| Different socket, same result. Completely dead.
A: Thanks for checking, then it's the lamp. Please submit the claim at
brightfield.example/warranty with serial {serial}; no receipt is needed since the serial is
registered. We'll ship a replacement {model} within 2 business days and include a prepaid label
so you can send the faulty one back in the same box.
A| Then it's the lamp itself. Go to brightfield.example/warranty, enter {serial} and your
address, and a new {model} ships within 2 business days. Use the prepaid label that comes with
it to send the old one back; there's no cost to you.

=== warranty_expired | Fault after warranty | * | n=3 tools=check_warranty
U: The touch controls on my {model} stopped responding. Serial {serial_old}. Is this covered?
U| My {model} flickers constantly now. It's a few years old, serial number {serial_old}. Any
chance of a warranty repair?
C: check_warranty {"serial_number": "{serial_old}"}
R: {"serial_number": "{serial_old}", "model": "{model}", "purchase_date": "{purchase_old_iso}",
"warranty_until": "{warranty_old_iso}", "status": "expired", "care_plus": false}
A: I've checked: the lamp was bought on {purchase_old_year} and the warranty ended on
{warranty_old_year}, so I can't offer a free replacement, I'm sorry.

A couple of things may still help:
1. A factory reset clears many control problems: hold the power button for 10 seconds (Pro,
Arc) or the touch strip and power button together for 8 seconds (Mini).
2. Make sure the firmware is up to date in Brightfield Home (Lamp settings > Firmware).

If it's still faulty, we offer 25% off a new Lumen lamp for customers whose lamp fails after
the warranty. Request the code at brightfield.example/warranty under "Out of warranty".
A| Unfortunately the warranty on this lamp ended on {warranty_old_year} (it was bought on
{purchase_old_year}), so it's no longer covered. Before giving up on it, try a factory reset
and a firmware update, which fix a good share of these problems.

If that doesn't help, you're eligible for our out-of-warranty offer: 25% off any new Lumen, and
we'll recycle the old one for free. You'll find it at brightfield.example/warranty.

=== two_orders | Two orders at once | * | n=4 tools=lookup_order
U: I placed two orders, {order} and {order2}. Have they both shipped?
U| Can you check {order} and {order2}? One of them is a gift and I need to know which arrives
first.
C: lookup_order {"order_id": "{order}"}
C: lookup_order {"order_id": "{order2}"}
R: {"order_id": "{order}", "status": "in_transit", "placed_at": "{placed_iso}",
"items": [{"sku": "{sku}", "name": "{model}", "colour": "{colour_en}", "quantity": 1,
"unit_price": "{price}"}],
"currency": "{currency}", "total": "{price}",
"shipping": {"carrier": "UPS", "tracking_number": "{tracking}", "shipped_at": "{shipped_iso}",
"estimated_delivery": "{eta_iso}"}}
R: {"order_id": "{order2}", "status": "processing", "placed_at": "{placed_iso}",
"items": [{"sku": "{sku2}", "name": "{model2}", "colour": "{colour_en2}", "quantity": 1,
"unit_price": "{price2}"}],
"currency": "{currency}", "total": "{price2}", "expected_ship_date": "{eta_iso}"}
A: Here's where both stand:

- {order} ({model}, {colour}): shipped on {shipped_txt}, arriving {eta_txt}. UPS tracking:
{tracking}.
- {order2} ({model2}, {colour2}): still being prepared; it's scheduled to ship on {eta_txt}
and then takes 3–5 business days.

So the {model} will be with you first.
A| {order} with the {model} is already on its way (UPS {tracking}) and due on {eta_txt}.
{order2}, the {model2}, hasn't shipped yet; it's planned to leave the warehouse on {eta_txt},
so expect it a few business days after that. The {model} arrives first.

=== order_and_warranty | Return or warranty? | * | n=3
U: The touch controls on my {model} stopped working. It's from order {order}, serial {serial}.
Can I still return it, or is this a warranty thing?
U| {model} from order {order} has faulty touch controls (serial {serial}). Return or warranty,
which is better?
C: lookup_order {"order_id": "{order}"}
C: check_warranty {"serial_number": "{serial}"}
R: {"order_id": "{order}", "status": "delivered", "placed_at": "{purchase_iso}",
"items": [{"sku": "{sku}", "name": "{model}", "colour": "{colour_en}", "quantity": 1,
"unit_price": "{price}"}],
"currency": "{currency}", "total": "{price}",
"shipping": {"carrier": "UPS", "delivered_at": "{purchase_iso}"},
"return_eligible_until": "{purchase_return_iso}"}
R: {"serial_number": "{serial}", "model": "{model}", "purchase_date": "{purchase_iso}",
"warranty_until": "{warranty_iso}", "status": "active", "care_plus": false}
A: I checked both. The 30-day return window for {order} closed on {purchase_return_year}, but
the lamp is under warranty until {warranty_year}, and faulty touch controls are exactly what
it covers.

So the warranty is the way to go: submit a claim at brightfield.example/warranty with serial
{serial}. We ship a replacement within 2 business days, with a prepaid label for this one. Before
that, a factory reset is worth a try, as it sometimes brings the touch controls back.
A| The return window ended on {purchase_return_year}, so a return is no longer possible, but you
don't need it: the warranty runs until {warranty_year}. File a claim with serial {serial} at
brightfield.example/warranty and we'll send you a new {model}; you return the faulty one with
the label we include. It costs you nothing.

=== price_drop | Price adjustment | * | n=3
U: I bought a {model} on {placed_txt} (order {order}) and today it's {diff_txt} cheaper on your
site. Can I get the difference back?
U| Saw the {model} just went down by {diff_txt}. I ordered mine a few days ago, {order}. Any
chance of a price adjustment?
C: lookup_order {"order_id": "{order}"}
R: {"order_id": "{order}", "status": "in_transit", "placed_at": "{placed_iso}",
"items": [{"sku": "{sku}", "name": "{model}", "colour": "{colour_en}", "quantity": 1,
"unit_price": "{price}"}],
"currency": "{currency}", "total": "{price}",
"shipping": {"carrier": "UPS", "tracking_number": "{tracking}", "estimated_delivery": "{eta_iso}"}}
C: create_refund {"order_id": "{order}", "reason": "price_adjustment", "amount": "{diff}"}
R: {"refund_id": "{refund_id}", "order_id": "{order}", "status": "approved",
"amount": "{diff}", "currency": "{currency}", "method": "original_payment",
"expected_within_business_days": 5}
A: Yes: we match our own price drops within 14 days of purchase, and you ordered on
{placed_txt}. I've refunded the {diff_txt} difference (refund {refund_id}); it'll show on your
original payment method within 5 business days. Your lamp is still on its way and due on
{eta_txt}.
A| Of course. Your order is within our 14-day price adjustment window, so I've refunded
{diff_txt} as {refund_id}. That brings what you paid down to {new_price_txt}. Expect the money
back within 5 business days.

=== status_call | Order status (ends on the call) | * | n=2 tools=lookup_order
U: Can you check the status of order {order}?
U| What's happening with {order}? No email since I ordered.
C: lookup_order {"order_id": "{order}"}

=== not_found | Mistyped order number | * | n=3 min=1 tools=lookup_order
U: Where is my order {bad_order}? It's been a week.
U| can you look up {bad_order} please, still waiting for it
C: lookup_order {"order_id": "{bad_order}"}
R: {"error": "order_not_found", "order_id": "{bad_order}"}
A: I couldn't find an order with the number {bad_order}. Our order numbers have six digits after
"BF-", so it looks like one is missing. Could you check the confirmation email? The number is in
its subject line.
A| Hmm, {bad_order} doesn't match any order. Order numbers are "BF-" plus six digits, so a digit
may have been left out. It's in the subject of your confirmation email; if you paid with PayPal
or Apple Pay, that email may have gone to the address linked to that account.
U: Oops, sorry. It's {order}.
U| My bad, missed a digit: {order}
C: lookup_order {"order_id": "{order}"}
R: {"order_id": "{order}", "status": "in_transit", "placed_at": "{placed_iso}",
"customer": {"first_name": "{name}"},
"items": [{"sku": "{sku}", "name": "{model}", "colour": "{colour_en}", "quantity": 1,
"unit_price": "{price}"}],
"currency": "{currency}", "total": "{price}",
"shipping": {"carrier": "UPS", "tracking_number": "{tracking}", "shipped_at": "{shipped_iso}",
"estimated_delivery": "{eta_iso}"}}
A: No problem, found it. Your {model} shipped on {shipped_txt} and UPS expects to deliver it on
{eta_txt}. Tracking number: {tracking}.
A| There it is. The {colour} {model} is on its way with UPS (tracking {tracking}) and should
arrive on {eta_txt}.
"""

FR_SINGLE = """
=== fr_reset | Réinitialisation de ma {model} | Pro,Arc
U: Bonjour, comment remettre ma {model} en configuration d'usine ?
U| Ma {model} ne répond plus ni à l'appli ni au tactile, elle reste bloquée sur une lueur
orange. Comment la réinitialiser ?
U| J'ai changé de box internet et ma {model} est hors ligne. Faut-il la réinitialiser ?
A: Bonjour ! Voici la marche à suivre :

1. Laissez la lampe branchée.
2. Maintenez le bouton d'alimentation, à l'arrière du pied, enfoncé pendant 10 secondes.
3. Relâchez quand la lumière clignote trois fois en orange.

La lampe conserve son firmware mais oublie le réseau Wi-Fi, les scènes et les routines. Ajoutez-la
ensuite dans Brightfield Home avec « + » > Ajouter une lampe, en choisissant un réseau 2,4 GHz.
A| Une réinitialisation est le plus simple : maintenez le bouton d'alimentation situé à
l'arrière du pied pendant 10 secondes, jusqu'à ce que la lumière clignote trois fois en orange.
La lampe redémarre en une vingtaine de secondes, en mode configuration.

Il ne reste plus qu'à l'ajouter de nouveau dans l'application (« + » > Ajouter une lampe). Vos
scènes et routines étant aussi enregistrées dans votre compte, l'appli vous proposera de les
restaurer.

=== fr_wifi | {model} : échec de connexion Wi-Fi | Pro,Arc
U: Impossible de connecter ma {model} au Wi-Fi, l'appli bloque à l'étape « Connexion au
réseau » puis affiche un échec. Le mot de passe est bon.
D: Box : {router}
Téléphone : {phone}
Brightfield Home {app_ver}
U| La configuration échoue toujours au moment du Wi-Fi. J'ai essayé trois fois, avec le bon
mot de passe.
D: Lampe : {model}
Box : {router}
A: Dans ce cas, le souci vient presque toujours de la bande de fréquence : la {model} ne se
connecte qu'en 2,4 GHz, et la {router} diffuse souvent le 2,4 et le 5 GHz sous un seul nom de
réseau. Je vous propose :

1. Dans l'interface de la box, séparez les deux bandes (ou donnez un nom distinct au 2,4 GHz).
2. Vérifiez que la sécurité est en WPA2 ou WPA2/WPA3, et non en WPA3 seul.
3. Relancez la configuration et choisissez le réseau 2,4 GHz.

Une fois la lampe connectée, vous pourrez réunifier les réseaux : elle gardera sa connexion.
A| Puisque le mot de passe est correct, c'est très probablement la bande Wi-Fi : la {model}
n'utilise que le 2,4 GHz. Sur une {router}, l'option s'appelle souvent « réseau unifié » ou
« Wi-Fi intelligent » ; désactivez-la le temps de la configuration pour obtenir un réseau
2,4 GHz séparé, puis relancez l'ajout de la lampe. Pensez aussi à vérifier que la sécurité
n'est pas réglée sur WPA3 uniquement.

=== fr_livraison | Délais de livraison | *
U: Sous combien de temps est-ce que je recevrai une {model} si je commande aujourd'hui ? J'habite
à {city}.
U| Quels sont vos délais de livraison pour la France ? Il y a une option express ?
A: Les commandes pour l'Europe partent de notre entrepôt de Rotterdam avec DHL :

- livraison standard : 2 à 4 jours ouvrés, offerte dès 50 € d'achat ;
- express : 1 à 2 jours ouvrés, pour 12,90 €.

Toute commande passée avant 14 h un jour ouvré est expédiée le jour même, et vous recevez le
numéro de suivi par e-mail dès la remise au transporteur.
A| Pour {city}, comptez 2 à 4 jours ouvrés en livraison standard (gratuite au-delà de 50 €).
Si vous êtes pressé, l'express arrive en 1 à 2 jours ouvrés pour 12,90 €. Commandez avant 14 h
et le colis part le jour même de notre entrepôt de Rotterdam.

=== fr_retour | Question sur les retours | *
U: Si la {model} ne me convient pas, est-ce que je peux la renvoyer ? Les frais de retour sont
à ma charge ?
U| Quelle est votre politique de retour ? J'hésite encore sur la taille de la lampe.
A: Oui, sans problème. Vous disposez de 30 jours après la livraison pour nous la retourner, quel
qu'en soit le motif, et le retour est gratuit :

1. Rendez-vous sur brightfield.example/retours avec votre numéro de commande et votre e-mail.
2. Imprimez l'étiquette prépayée DHL (ou présentez le QR code en point relais).
3. Emballez la lampe avec ses accessoires ; le carton d'origine n'est pas obligatoire.

Le remboursement est effectué sur votre moyen de paiement sous 5 à 7 jours ouvrés après
réception du colis.
A| Vous avez 30 jours à compter de la livraison pour changer d'avis, c'est plus que les 14 jours
légaux. L'étiquette de retour est offerte : il suffit de la demander sur
brightfield.example/retours. La lampe peut avoir été déballée et utilisée ; veillez simplement à
renvoyer tous les éléments. Vous êtes remboursé intégralement dans la semaine qui suit la
réception.

=== fr_garantie | Garantie de la {model} | *
U: Quelle est la durée de garantie de la {model}, et qu'est-ce qu'elle couvre exactement ?
U| Est-ce que les LED sont couvertes par la garantie ? Et combien de temps ?
A: Toutes les lampes Lumen sont garanties 2 ans à partir de la livraison. La garantie couvre
les défauts de fabrication : LED qui s'éteignent ou scintillent, commandes tactiles ou capteurs
en panne, adaptateur défectueux, articulations de l'Arc qui ne tiennent plus. Elle ne couvre pas
les chocs, les rayures ni les dégâts causés par un adaptateur d'une autre marque à la mauvaise
tension.

Avec Care+ (29 €, à souscrire dans les 60 jours suivant l'achat), la couverture passe à 4 ans.
A| Oui, les LED sont couvertes, tout comme l'électronique, les capteurs et l'adaptateur fourni.
La garantie dure 2 ans à compter de la livraison ; vous pouvez la porter à 4 ans avec Care+
(29 €), à ajouter depuis l'application dans les 60 jours. Pour une demande, seul le numéro de
série inscrit sous le pied vous sera demandé.

=== fr_matter | Ajouter la {model} à l'app Maison | Pro,Arc
U: Est-ce que je peux ajouter ma {model} dans l'app Maison de mon iPhone ?
U| Je voudrais piloter ma {model} depuis Apple Maison avec le reste de mes lumières. Comment
faire ?
A: Oui, grâce à Matter. Il faut le firmware 4.0 ou plus récent (la version actuelle est
{fw_new} ; vous la trouverez dans Réglages de la lampe > Firmware).

1. Dans Brightfield Home : Réglages de la lampe > Matter > Associer à une autre app. Un code et
un QR code s'affichent.
2. Dans Maison : « + » > Ajouter un accessoire, puis scannez le QR code.
3. Choisissez une pièce et un nom.

Pour la piloter hors de chez vous, Maison a besoin d'un concentrateur (HomePod ou Apple TV).
A| Tout à fait, via Matter. Vérifiez d'abord que la {model} est en firmware 4.0 minimum, puis
ouvrez Réglages de la lampe > Matter > Associer à une autre app dans Brightfield Home. Gardez
cet écran ouvert, passez dans l'app Maison, touchez « + » > Ajouter un accessoire et scannez le
code. La lampe reste utilisable dans les deux applications.

=== fr_presence | Ma Lumen Pro s'éteint toute seule | Pro
U: Ma Lumen Pro s'éteint toute seule alors que je suis en train de lire juste à côté. C'est
normal ?
U| ma lampe pro se coupe au bout d'un moment et se rallume quand je bouge, c'est un défaut ?
A: Ce n'est pas un défaut : c'est le détecteur de présence. S'il ne détecte personne devant la
lampe pendant 10 minutes, il l'éteint pour économiser de l'énergie, et la rallume au moindre
mouvement. En lisant immobile, un peu sur le côté, vous sortez parfois de son champ (environ
2 mètres devant la lampe).

Dans Brightfield Home, ouvrez Réglages de la lampe > Présence : vous pouvez allonger le délai
(de 1 à 60 minutes), augmenter la sensibilité ou désactiver la fonction.
A| C'est le détecteur de présence qui fait son travail : sans mouvement détecté pendant
10 minutes, la lampe s'éteint, et elle se rallume dès que vous bougez. Si c'est trop
réactif, allez dans Réglages de la lampe > Présence pour augmenter la sensibilité, allonger le
délai jusqu'à 60 minutes ou couper complètement la détection.

=== fr_circadien | Mode circadien trop froid le soir | *
U: Comment fonctionne le mode circadien ? Ma {model} est encore très bleue à 19 h.
U| Le mode circadien ne semble pas passer en lumière chaude le soir sur ma {model}. Comment il
choisit la couleur ?
A: Le mode circadien suit les heures de lever et de coucher du soleil de votre ville : lumière
plus froide en milieu de journée, puis de plus en plus chaude à partir d'environ une heure
avant le coucher du soleil. Si l'application ne connaît pas votre position, elle utilise une
journée fixe de 7 h à 19 h, ce qui expliquerait ce bleu à 19 h.

Vérifiez Réglages > Localisation et fuseau horaire dans Brightfield Home. Dans les réglages du
mode circadien, vous pouvez aussi avancer l'heure de « Début de la lumière chaude ».
A| Il se cale sur le lever et le coucher du soleil là où vous êtes. Quand il reste froid le
soir, c'est presque toujours la localisation ou le fuseau horaire qui n'est pas renseigné :
allez dans Réglages > Localisation et fuseau horaire et choisissez votre ville. Vous pouvez
aussi fixer une heure précise, 18 h par exemple, pour le passage à la lumière chaude.

=== fr_pince | Pince de l'Arc et épaisseur du bureau | Arc
U: La pince de bureau de l'Arc est-elle compatible avec un plateau de {desk_mm} mm ?
U| Mon bureau fait environ {desk_mm} mm d'épaisseur, est-ce que la pince de la Lumen Arc tiendra ?
A: Oui, aucun problème : la pince accepte les plateaux de 12 à 65 mm d'épaisseur. Prévoyez
environ 6 cm libres sous le bord du bureau ; une traverse ou un rebord juste à cet endroit
pourrait gêner.

La pince est vendue séparément (29 €) et se monte à la place du pied lesté en une minute, avec
la clé Allen de 4 mm fournie avec la lampe.
A| {desk_mm} mm, c'est parfait : la pince fonctionne de 12 à 65 mm. Vérifiez seulement qu'il n'y
a pas de traverse sous le bord, là où vient se placer la mâchoire inférieure. Le montage se
fait avec la clé rangée sous le pied, sans autre outil.

=== fr_adaptateur | Adaptateur secteur perdu ({model}) | Pro,Arc
U: J'ai perdu l'adaptateur secteur de ma {model} pendant un déménagement. Lequel dois-je
racheter ?
U| Quel bloc d'alimentation faut-il pour la {model} ? Le mien est resté dans mon ancien
appartement.
A: La {model} fonctionne avec un adaptateur {adapter}. Vous pouvez commander l'original sur
brightfield.example/pieces pour 19 €.

Un adaptateur d'une autre marque convient s'il correspond exactement : sortie 24 V, puissance
au moins égale, polarité centre positif. Une autre tension peut endommager la lampe, et ce type
de dommage n'est pas couvert par la garantie.
A| Il s'agit d'un adaptateur {adapter}. Le plus simple est d'en commander un sur
brightfield.example/pieces (19 €, expédié sous 1 à 2 jours). Si vous en achetez un autre,
vérifiez bien les 24 V, la puissance et la polarité centre positif.

=== fr_anneau | Anneau lumineux de l'Arc | Arc
U: Comment changer la couleur de l'anneau à l'arrière de ma Lumen Arc ? Ou l'éteindre ?
U| L'anneau RGB de l'Arc peut-il faire autre chose que l'effet arc-en-ciel ? C'est un peu trop
pour mon bureau.
A: L'anneau a ses propres réglages dans Brightfield Home : ouvrez la lampe puis touchez Anneau
lumineux. Vous pouvez :

- choisir n'importe quelle couleur et régler sa luminosité indépendamment de l'éclairage
principal ;
- sélectionner un effet (Respiration, Coucher de soleil, Pulsation focus) ou aucun ;
- l'éteindre complètement.

Son réglage peut aussi être enregistré dans une scène.
A| Bien sûr. Dans l'application, ouvrez l'Arc et touchez Anneau lumineux. Choisissez « Fixe »
pour une couleur unique, baissez la luminosité si elle est trop forte, ou prenez un effet plus
doux comme Respiration. L'interrupteur en haut de l'écran éteint l'anneau sans toucher à
l'éclairage principal.

=== fr_coupure | Rallumage après une coupure de courant | *
U: Après une coupure de courant cette nuit, ma {model} s'est rallumée à pleine puissance à 3 h du
matin. On peut éviter ça ?
U| Quand le courant revient après une coupure, la lampe se rallume toute seule. C'est réglable ?
A: Oui, c'est le réglage « Comportement à la mise sous tension ». Dans Brightfield Home :
Réglages de la lampe > Alimentation > Comportement à la mise sous tension. Trois choix :

- Dernier état (elle revient à ce qu'elle faisait, allumée ou éteinte) ;
- Éteinte ;
- Allumée à 50 %.

La nuit, « Dernier état » est le plus pratique : si la lampe était éteinte, elle le reste.
A| C'est réglable : Réglages de la lampe > Alimentation > Comportement à la mise sous tension,
puis « Dernier état » ou « Éteinte ». Le réglage est enregistré dans la lampe, il fonctionne
donc même si votre téléphone n'est pas à proximité.

=== fr_facture | Facture au nom de ma société ({order}) | * | n=2
U: J'ai commandé une {model} pour mon activité. Est-il possible d'avoir une facture avec le nom
de ma société et mon numéro de TVA intracommunautaire ?
D: Commande : {order}
U| Bonjour, il me faudrait une facture professionnelle (raison sociale + n° de TVA) pour ma
commande.
D: N° de commande : {order}
A: Oui, bien sûr. Dans votre compte, ouvrez Commandes > {order} > Facture > Modifier les
informations de facturation, puis ajoutez la raison sociale et le numéro de TVA. La facture est
régénérée immédiatement ; c'est possible jusqu'à 30 jours après la commande.

Pour vos prochains achats, cochez « Achat professionnel » au moment du paiement : les champs
apparaissent directement.
A| C'est possible jusqu'à 30 jours après l'achat : rendez-vous dans Mon compte > Commandes >
{order}, puis « Modifier la facturation ». Ajoutez le nom de la société et le numéro de TVA, et
téléchargez la nouvelle facture. Si le bouton n'apparaît pas, répondez-moi et je transmettrai la
demande au service comptable.
"""

FR_MULTI = """
=== fr_hors_ligne | Lampe hors ligne | Pro,Arc | min=2
U: Ma {model} est « Hors ligne » dans l'appli depuis ce matin. Je n'ai rien changé.
U| Depuis hier soir, impossible de piloter ma {model} depuis l'application, elle apparaît hors
ligne.
A: Voyons où se situe le problème. Deux questions :

1. La lampe réagit-elle encore aux commandes tactiles ?
2. Votre box a-t-elle redémarré ou été mise à jour récemment ?
A| Désolé pour ce désagrément. Est-ce que la lampe répond toujours quand vous la touchez ? Et
savez-vous si votre box a redémarré cette nuit ? Les opérateurs font souvent leurs mises à
jour la nuit, c'est la cause la plus fréquente.
U: Oui, le tactile marche. J'ai une {router}, et il me semble qu'il y a eu une mise à jour.
U| Le tactile fonctionne. C'est une {router}, et internet a coupé un moment hier soir.
A: La lampe va donc bien, c'est la connexion. Essayez dans cet ordre :

1. Débranchez la lampe 10 secondes puis rebranchez-la : au démarrage, elle retente la connexion.
2. Si elle reste hors ligne, utilisez Réglages de la lampe > Wi-Fi > Reconnecter.
3. Sinon, vérifiez dans la box que le 2,4 GHz est toujours actif et que la sécurité est en WPA2
ou WPA2/WPA3. Une mise à jour peut aussi avoir fusionné le 2,4 et le 5 GHz sous un seul nom.
A| Bonne nouvelle, la lampe n'est pas en cause. Commencez par la débrancher 10 secondes. Si elle
ne revient pas en ligne, passez par Réglages de la lampe > Wi-Fi > Reconnecter. Si ça ne
suffit pas, la mise à jour a sans doute modifié un réglage de la box : le 2,4 GHz doit rester
activé et la sécurité ne doit pas être en WPA3 seul.
U: C'était ça : la mise à jour avait fusionné les deux bandes. Je les ai séparées et la lampe
est revenue. Merci !
U| Trouvé, la box était passée en WPA3 uniquement. J'ai remis WPA2/WPA3 et tout refonctionne.
A: Parfait, ravi que ce soit réglé ! Si votre opérateur recommence, la solution sera la même. Et
si vous changez un jour le mot de passe Wi-Fi, utilisez « Reconnecter » plutôt qu'une
réinitialisation : vos scènes et routines restent en place.
A| Super, merci de m'avoir dit ce que c'était. Bonne soirée avec votre lampe !

=== fr_choisir | Choisir son modèle | * | min=2
U: J'hésite entre les trois lampes Lumen. Petit bureau, je lis beaucoup de documents papier et
j'ai un grand écran. Laquelle me conseillez-vous ?
U| Quelle Lumen choisir pour du télétravail ? Portable + écran externe, bureau pas très grand,
et je lis le soir.
A: Pour cet usage, je regarderais surtout l'Arc ou la Pro :

- Lumen Arc (249 €) : le bras permet d'amener la tête au-dessus des documents sans éclairer
l'écran, et son optique asymétrique limite les reflets. 1200 lm, de 2200 à 6500 K, donc très
chaude le soir. Elle peut se fixer au bord du bureau avec la pince.
- Lumen Pro (189 €) : pied compact, 900 lm, de 2700 à 6500 K, avec détecteur de présence et
luminosité automatique.
- Lumen Mini (79 €) : parfaite en lampe de chevet, mais un peu juste comme éclairage principal.

Avec un grand écran sur un petit bureau, l'Arc avec la pince est la plus pratique.
A| Sur un petit bureau avec un grand écran, c'est le positionnement qui compte, donc je vous
conseillerais la Lumen Arc : le bras passe au-dessus des documents, la tête est conçue pour
éviter les reflets sur l'écran, et la pince (vendue à part) libère de la place. Si vous
préférez une lampe compacte posée dans un coin, la Pro est aussi excellente pour la lecture.
U: Va pour l'Arc. Quelles couleurs existent, et je la recevrai avant le week-end ?
U| D'accord pour l'Arc. Elle existe en quelles couleurs ? Et la livraison prend combien de temps ?
A: L'Arc existe en blanc craie, graphite, vert sauge et laiton brossé. En standard (2 à 4 jours
ouvrés, offerte), elle n'arrivera peut-être pas avant le week-end ; en express (1 à 2 jours
ouvrés, 12,90 €), c'est bon si vous commandez avant 14 h.
A| Quatre finitions : blanc craie, graphite, vert sauge et laiton brossé. Livraison standard en 2
à 4 jours ouvrés, ou express en 1 à 2 jours pour 12,90 € ; avant 14 h, le colis part le jour
même.
U: Et si elle est trop grande pour mon bureau, je peux la renvoyer ?
A: Oui : vous avez 30 jours après la livraison pour la retourner, quel qu'en soit le motif,
avec une étiquette de retour gratuite. Vous pouvez donc l'essayer tranquillement.
A| Bien sûr, 30 jours après réception, retour gratuit et remboursement intégral.
U: Dernière question : la pince est-elle fournie avec l'Arc ?
A: Non, l'Arc est livrée avec son pied lesté ; la pince de bureau est un accessoire à 29 €.
Vous pouvez l'ajouter à la même commande, elle convient aux plateaux de 12 à 65 mm.
A| Elle est vendue à part (29 €). L'Arc arrive avec son pied lesté, et les deux partent ensemble
si vous les commandez en même temps.

=== fr_mini_eteint | La Mini s'éteint au hasard | Mini | min=2
U: Ma Lumen Mini s'éteint toute seule, parfois après quelques minutes, parfois après une heure.
Elle a deux semaines.
U| la mini se coupe sans raison, je ne vois aucune logique. une idée ?
A: Sur la Mini, des extinctions aléatoires viennent presque toujours de l'alimentation. Sur quoi
est-elle branchée : l'adaptateur fourni, ou un port USB d'ordinateur, d'écran ou de hub ?
A| Vérifions d'abord l'alimentation, c'est la cause la plus courante. La Mini est branchée sur
l'adaptateur d'origine ou sur un port USB (écran, ordinateur, hub) ?
U: Sur le port USB-C de mon écran, pour éviter une prise de plus.
U| Sur un hub USB-C, l'adaptateur est dans un tiroir.
A: Voilà l'explication. La Mini a besoin de 15 W stables (5 V / 3 A). Les ports d'écran et les
hubs partagent leur puissance entre les appareils et la réduisent parfois, notamment quand
l'écran passe en veille. Si l'alimentation descend trop, la Mini se coupe pour se protéger.

Essayez l'adaptateur fourni pendant un jour ou deux ; si elle reste allumée, c'était bien ça.
A| C'est très probablement la cause : un hub ou un écran répartit sa puissance entre tout ce qui
est branché, et quand la Mini reçoit moins de 15 W, elle s'éteint. Branchez-la sur l'adaptateur
d'origine, ou sur un chargeur USB-C d'au moins 15 W, et dites-moi si le problème persiste.
U: Branchée sur l'adaptateur depuis hier, plus aucune coupure. Merci !
A: Très bonne nouvelle ! Si elle se coupait de nouveau sur l'adaptateur, recontactez-nous : il
faudrait alors vérifier la lampe elle-même, sous garantie.
A| Parfait, merci pour le retour. Bonne lecture avec votre Mini !

=== fr_reveil | Simulation d'aube | * | n=2 min=2
U: Est-ce que ma {model} peut servir de simulateur d'aube ? J'aimerais qu'elle s'allume
progressivement avant mon réveil.
A: Oui. Dans Brightfield Home :

1. Routines > Nouvelle routine > Réveil.
2. Indiquez l'heure à laquelle elle doit être à pleine intensité, par exemple 7 h.
3. Choisissez la durée de la montée (10 à 45 minutes), la luminosité finale et la température
de couleur.
4. Sélectionnez les jours et enregistrez.
A| Tout à fait : créez une routine Réveil (Routines > Nouvelle routine > Réveil). Vous réglez
l'heure d'arrivée, la durée de la transition (jusqu'à 45 minutes) et l'intensité finale. Elle
part d'une lueur très chaude, un peu comme un lever de soleil.
U: Et le week-end, je peux avoir une autre heure ?
A: Oui : créez une deuxième routine Réveil pour le samedi et le dimanche, à l'heure plus
tardive, et décochez ces deux jours dans la première.
A| Bien sûr, une seconde routine avec seulement samedi et dimanche cochés fera l'affaire.
"""

FR_WEIGHT0 = """
=== fr_bonjour | Salutation puis question | * | min=2
U: Bonjour
U| bonjour, vous êtes là ?
A0: Bonjour et bienvenue chez Brightfield ! Comment puis-je vous aider ?
A| Bonjour ! Que puis-je faire pour vous aujourd'hui ?
U: Ma {model} émet un petit sifflement aigu quand je baisse la luminosité sous 10 %. C'est
normal ?
U| J'entends un léger grésillement sur ma {model}, seulement à faible luminosité. Je dois
m'inquiéter ?
A: Un très léger bruit peut venir de l'électronique à faible luminosité, mais vous ne devriez
pas l'entendre depuis votre place. Si c'est le cas, c'est un défaut couvert par la garantie.

Pouvez-vous m'envoyer le numéro de série (sous le pied, ou dans l'appli sous Réglages de la
lampe > À propos) et, si possible, une courte vidéo avec le son ? Nous organiserons un échange.
A| Ce bruit ne devrait pas être audible à distance normale. Si vous l'entendez depuis votre
bureau, nous le traitons comme un défaut sous garantie. Pouvez-vous me communiquer le numéro
de série inscrit sous le pied ? Je lancerai ensuite le remplacement.

=== fr_ancienne_politique | Délai de retour erroné | * | n=2 min=2
U: Jusqu'à quand puis-je retourner ma {model} ? Elle a été livrée le {delivered_txt}.
A0: Les retours sont acceptés dans un délai de 14 jours après la livraison, à condition que
l'article soit neuf et dans son emballage d'origine.
U: Votre site indique 30 jours, et que les produits ouverts sont acceptés ?
U| Ce n'est pas ce que dit votre page retours, il y est écrit 30 jours.
A: Vous avez raison, toutes mes excuses. Le délai est bien de 30 jours après la livraison, et
une lampe déballée ou utilisée est acceptée du moment que tous les éléments sont présents.
Livrée le {delivered_txt}, la vôtre peut être retournée jusqu'au {return_by_txt}. L'étiquette
gratuite se demande sur brightfield.example/retours.
A| Excusez-moi, c'est bien 30 jours après la livraison, et la lampe n'a pas besoin d'être neuve
ni dans son carton d'origine. Pour votre commande, cela vous laisse jusqu'au {return_by_txt}.

=== fr_mauvais_modele | Réponse pour le mauvais modèle | Mini | n=2 min=2
U: Comment désactiver le capteur qui éteint ma lampe quand je ne bouge plus ?
A0: Vous pouvez désactiver le détecteur de présence dans Brightfield Home : ouvrez la lampe,
puis Réglages de la lampe > Présence, et désactivez « Éteindre en l'absence de mouvement ».
U: J'ai une Lumen Mini, il n'y a pas d'option Présence dans les réglages.
U| Ce réglage n'existe pas chez moi, c'est une Mini.
A: Pardon, c'était la réponse pour la Lumen Pro : la Mini n'a pas de détecteur de présence.
Chez elle, c'est en général la minuterie d'extinction. Ouvrez la lampe dans Brightfield Home,
puis Réglages de la lampe > Extinction auto, et choisissez « Jamais ».

Si elle est déjà désactivée, regardez dans Routines : une routine « Éteindre » a peut-être été
créée lors de l'installation.
A| Toutes mes excuses, je vous ai répondu pour la Pro. La Mini n'a pas de capteur de présence ;
ce qui l'éteint, c'est l'extinction automatique, sous Réglages de la lampe > Extinction auto.
Réglez-la sur « Jamais », et vérifiez au passage qu'aucune routine « Éteindre » n'est
programmée.
"""

FR_TOOLS = """
=== fr_ou_commande | Où est ma commande | * | n=5 min=1 tools=lookup_order,create_refund
U: Bonjour, où en est ma commande {order} ? J'ai commandé une {model} il y a quelques jours.
U| Pouvez-vous vérifier la commande {order} ? Le suivi ne bouge plus depuis hier.
U| bonjour, je voudrais savoir quand arrive ma commande {order} svp
C: lookup_order {"order_id": "{order}"}
R: {"order_id": "{order}", "status": "in_transit", "placed_at": "{placed_iso}",
"customer": {"first_name": "{name}"},
"items": [{"sku": "{sku}", "name": "{model}", "colour": "{colour_en}", "quantity": 1,
"unit_price": "{price}"}],
"currency": "{currency}", "total": "{price}",
"shipping": {"carrier": "DHL", "service": "standard", "tracking_number": "{tracking}",
"shipped_at": "{shipped_iso}", "estimated_delivery": "{eta_iso}"}}
A: Bonjour {name} ! Votre {model} {colour} est en route : elle a quitté notre entrepôt de
Rotterdam le {shipped_txt} avec DHL, et la livraison est prévue le {eta_txt}. Vous pouvez la
suivre avec le numéro {tracking}.

Il arrive que le suivi ne se mette pas à jour pendant une journée quand le colis passe d'un
centre à l'autre ; ce n'est pas inquiétant.
A| Votre commande {order} est bien partie : expédiée le {shipped_txt}, livraison estimée par DHL
le {eta_txt}. Numéro de suivi : {tracking}.
U: Est-ce que DHL peut la déposer en point relais si je ne suis pas là ?
U| Je ne serai pas chez moi ce jour-là, on peut la livrer ailleurs ?
A: Une fois le colis expédié, nous ne pouvons plus modifier la livraison de notre côté, mais DHL
le peut. Sur le site ou l'application DHL, saisissez le numéro {tracking} : vous pourrez choisir
un point relais, une autre date ou un lieu de dépôt.
A| Oui, directement auprès de DHL : avec le numéro de suivi {tracking}, vous pouvez rediriger le
colis vers un point relais ou un autre jour de livraison depuis leur site. En cas d'absence, il
est de toute façon déposé au point relais le plus proche.

=== fr_remboursement | Retour et remboursement | * | n=4 min=1
U: Je souhaite retourner ma {model} (commande {order}). Elle fonctionne bien, mais elle est trop
grande pour mon bureau.
U| Bonjour, je voudrais être remboursé pour la commande {order}, la lampe ne me convient pas.
Elle est en parfait état.
C: lookup_order {"order_id": "{order}"}
R: {"order_id": "{order}", "status": "delivered", "placed_at": "{ordered_iso}",
"customer": {"first_name": "{name}"},
"items": [{"sku": "{sku}", "name": "{model}", "colour": "{colour_en}", "quantity": 1,
"unit_price": "{price}"}],
"currency": "{currency}", "total": "{price}",
"shipping": {"carrier": "DHL", "tracking_number": "{tracking}", "delivered_at": "{delivered_iso}"},
"return_eligible_until": "{return_by_iso}"}
C: create_refund {"order_id": "{order}", "reason": "changed_mind", "amount": "{price}"}
R: {"refund_id": "{refund_id}", "order_id": "{order}", "status": "awaiting_return",
"amount": "{price}", "currency": "{currency}",
"return_label_url": "https://brightfield.example/returns/label/{refund_id}",
"label_valid_days": 14}
A: C'est fait, {name}. Le retour {refund_id} est ouvert pour {price_txt} :

1. Imprimez l'étiquette prépayée : https://brightfield.example/returns/label/{refund_id} (elle
vous a aussi été envoyée par e-mail).
2. Déposez le colis en point relais DHL dans les 14 jours.
3. Dès réception à l'entrepôt, les {price_txt} sont remboursés sur votre moyen de paiement sous
5 à 7 jours ouvrés.
A| Aucun problème, votre commande est dans le délai de 30 jours. J'ai ouvert le retour
{refund_id} pour le montant total de {price_txt}. L'étiquette DHL gratuite est ici :
https://brightfield.example/returns/label/{refund_id}, valable 14 jours. Le remboursement suit
la réception du colis, comptez 5 à 7 jours ouvrés.
U: Faut-il le carton d'origine ?
A: Non, n'importe quel carton solide convient. Protégez bien la tête et n'oubliez pas
l'adaptateur secteur.
A| Pas forcément : un carton solide avec un peu de calage autour de la tête suffit. Pensez
simplement à joindre l'adaptateur.

=== fr_garantie_active | Lampe en panne sous garantie | * | n=4 min=1 tools=check_warranty
U: Ma {model} ne s'allume plus du tout, même le tactile ne réagit pas. Numéro de série {serial}.
U| Lampe morte depuis ce matin. {model}, n° de série {serial}. Elle est encore sous garantie ?
C: check_warranty {"serial_number": "{serial}"}
R: {"serial_number": "{serial}", "model": "{model}", "purchase_date": "{purchase_iso}",
"warranty_until": "{warranty_iso}", "status": "active", "care_plus": false}
A: Elle est couverte : la garantie de votre {model} court jusqu'au {warranty_year}.

Avant l'échange, une petite vérification : essayez une autre prise et, si possible, un autre
adaptateur compatible. Un adaptateur en panne ressemble exactement à une lampe morte.

Si elle reste éteinte, faites la demande sur brightfield.example/garantie avec le numéro
{serial} : une lampe de remplacement part sous 2 jours ouvrés, avec une étiquette prépayée
pour renvoyer l'ancienne.
A| Désolé pour cette panne. Bonne nouvelle : la garantie est valable jusqu'au {warranty_year},
c'est donc couvert. Pouvez-vous d'abord tester une autre prise ? Si c'est l'adaptateur qui a
lâché, nous vous en enverrons simplement un nouveau.
U: Autre prise et autre adaptateur, toujours rien.
A: Merci d'avoir vérifié, c'est donc la lampe. Faites la demande sur brightfield.example/garantie
avec le numéro {serial} ; aucune facture n'est nécessaire. Une nouvelle {model} vous sera
expédiée sous 2 jours ouvrés, avec une étiquette prépayée pour nous retourner l'ancienne.
A| C'est donc la lampe elle-même. Sur brightfield.example/garantie, saisissez {serial} et votre
adresse : la lampe de remplacement part sous 2 jours ouvrés, et le retour de l'ancienne est à
nos frais.

=== fr_deux_commandes | Deux commandes | * | n=3 tools=lookup_order
U: J'ai passé deux commandes, {order} et {order2}. Elles sont parties toutes les deux ?
U| Pouvez-vous vérifier {order} et {order2} ? L'une est un cadeau, j'aimerais savoir laquelle
arrive en premier.
C: lookup_order {"order_id": "{order}"}
C: lookup_order {"order_id": "{order2}"}
R: {"order_id": "{order}", "status": "in_transit", "placed_at": "{placed_iso}",
"items": [{"sku": "{sku}", "name": "{model}", "colour": "{colour_en}", "quantity": 1,
"unit_price": "{price}"}],
"currency": "{currency}", "total": "{price}",
"shipping": {"carrier": "DHL", "tracking_number": "{tracking}", "shipped_at": "{shipped_iso}",
"estimated_delivery": "{eta_iso}"}}
R: {"order_id": "{order2}", "status": "processing", "placed_at": "{placed_iso}",
"items": [{"sku": "{sku2}", "name": "{model2}", "colour": "{colour_en2}", "quantity": 1,
"unit_price": "{price2}"}],
"currency": "{currency}", "total": "{price2}", "expected_ship_date": "{eta_iso}"}
A: Voici où en sont vos deux commandes :

- {order} ({model}, {colour}) : expédiée le {shipped_txt}, livraison prévue le {eta_txt}. Suivi
DHL : {tracking}.
- {order2} ({model2}, {colour2}) : encore en préparation, expédition prévue le {eta_txt}, puis
2 à 4 jours ouvrés de livraison.

C'est donc la {model} qui arrivera en premier.
A| La commande {order} (la {model}) est déjà en route avec DHL, livraison prévue le {eta_txt}.
La {order2} (la {model2}) n'est pas encore partie : elle doit quitter l'entrepôt le {eta_txt}.
La {model} arrivera donc la première.

=== fr_statut | Statut de commande (se termine sur l'appel) | * | n=1 tools=lookup_order
U: Bonjour, pouvez-vous me donner le statut de la commande {order} ?
C: lookup_order {"order_id": "{order}"}

=== fr_introuvable | Numéro de commande erroné | * | n=2 min=1 tools=lookup_order
U: Où est ma commande {bad_order} ? Ça fait une semaine que j'attends.
U| pouvez-vous regarder la commande {bad_order} ? je n'ai toujours rien reçu
C: lookup_order {"order_id": "{bad_order}"}
R: {"error": "order_not_found", "order_id": "{bad_order}"}
A: Je ne trouve aucune commande portant le numéro {bad_order}. Nos numéros comportent six
chiffres après « BF- » : il en manque sans doute un. Pouvez-vous vérifier dans l'e-mail de
confirmation ? Le numéro figure dans l'objet.
A| Le numéro {bad_order} ne correspond à aucune commande. Il devrait y avoir six chiffres après
« BF- » ; vous le retrouverez dans l'objet de l'e-mail de confirmation.
U: Oups, c'est {order}.
C: lookup_order {"order_id": "{order}"}
R: {"order_id": "{order}", "status": "in_transit", "placed_at": "{placed_iso}",
"customer": {"first_name": "{name}"},
"items": [{"sku": "{sku}", "name": "{model}", "colour": "{colour_en}", "quantity": 1,
"unit_price": "{price}"}],
"currency": "{currency}", "total": "{price}",
"shipping": {"carrier": "DHL", "tracking_number": "{tracking}", "shipped_at": "{shipped_iso}",
"estimated_delivery": "{eta_iso}"}}
A: Pas de souci, la voici : votre {model} a été expédiée le {shipped_txt} et DHL prévoit de la
livrer le {eta_txt}. Numéro de suivi : {tracking}.
A| Je l'ai trouvée. La {model} {colour} est en route avec DHL (suivi {tracking}) et devrait
arriver le {eta_txt}.
"""

DE_SINGLE = """
=== de_reset_mini | Lumen Mini zurücksetzen | Mini
U: Wie setze ich meine Lumen Mini auf Werkseinstellungen zurück? Die App findet sie nicht mehr.
U| Hallo, meine Mini spinnt ein bisschen und taucht in der App nicht mehr auf. Gibt es irgendwo
einen Reset-Knopf?
U| Ich verschenke meine Lumen Mini an meine Schwester. Wie lösche ich vorher alle Einstellungen?
A: Das geht direkt an der Lampe:

1. Die Mini eingesteckt und eingeschaltet lassen.
2. Touch-Leiste und Ein/Aus-Taste gleichzeitig etwa 8 Sekunden gedrückt halten.
3. Loslassen, sobald das Licht zweimal weiß pulsiert. Die Lampe startet mit Werkseinstellungen
neu.

Danach in Brightfield Home auf „+“ tippen und sie als neue Lampe hinzufügen. Bleiben Sie dabei
in der Nähe, denn die Mini verbindet sich per Bluetooth.
A| Einen eigenen Reset-Knopf gibt es nicht, es ist eine Tastenkombination: Touch-Leiste und
Ein/Aus-Taste zusammen rund 8 Sekunden halten, bis die Lampe zweimal weiß pulsiert. Damit sind
Kopplung, Szenen und Routinen gelöscht.

Falls die Lampe in Ihrer App noch angezeigt wird, entfernen Sie sie dort ebenfalls
(Lampeneinstellungen > Lampe entfernen), bevor Sie sie neu einrichten.

=== de_wlan | {model} verbindet sich nicht mit dem WLAN | Pro,Arc
U: Meine {model} lässt sich nicht mit dem WLAN verbinden. Die App hängt bei „Netzwerk
beitreten“ und meldet dann einen Fehler. Das Passwort stimmt.
D: Router: {router}
Handy: {phone}
Brightfield Home {app_ver}
U| Die Einrichtung scheitert jedes Mal beim WLAN-Schritt. Habe es schon dreimal versucht.
D: Lampe: {model}
Router: {router}
A: Das liegt fast immer am Frequenzband, nicht am Passwort: Die {model} funkt nur im
2,4-GHz-Band, und viele Router, auch Ihr Modell ({router}), senden 2,4 und 5 GHz unter einem
gemeinsamen Namen. So klappt es meistens:

1. In den Router-Einstellungen dem 2,4-GHz-Netz vorübergehend einen eigenen Namen geben.
2. Prüfen, dass die Verschlüsselung auf WPA2 oder WPA2/WPA3 steht, nicht auf reinem WPA3.
3. Die Einrichtung erneut starten und das 2,4-GHz-Netz auswählen.

Sobald die Lampe verbunden ist, können Sie die Netze wieder zusammenlegen.
A| Wenn das Passwort stimmt, ist meist das Frequenzband schuld: Die {model} nutzt nur 2,4 GHz.
Schalten Sie im Router ({router}) die Bandsteuerung bzw. das gemeinsame WLAN für 2,4 und
5 GHz für die Einrichtung ab, sodass ein eigenes 2,4-GHz-Netz sichtbar ist, und wählen Sie dieses in
der App. Reines WPA3 wird noch nicht unterstützt; WPA2/WPA3 funktioniert.

=== de_rechnung | Firmenrechnung für Bestellung {order} | *
U: Ich habe eine {model} für mein Büro gekauft. Kann ich eine Rechnung mit Firmennamen und
USt-IdNr. bekommen?
D: Bestellung: {order}
U| Guten Tag, für die Buchhaltung bräuchte ich die Rechnung auf unsere Firma ausgestellt.
D: Bestellnummer {order}
A: Ja, natürlich. In Ihrem Konto unter Bestellungen > {order} > Rechnung > Rechnungsdaten ändern
können Sie Firmennamen und USt-IdNr. ergänzen. Die Rechnung wird sofort neu erstellt; das ist
bis 30 Tage nach der Bestellung möglich.

Bei künftigen Bestellungen setzen Sie einfach an der Kasse den Haken bei „Geschäftskunde“,
dann erscheinen die Felder direkt.
A| Das geht bis 30 Tage nach dem Kauf selbst: Mein Konto > Bestellungen > {order} >
„Rechnungsdaten ändern“. Dort tragen Sie Firma und USt-IdNr. ein und laden die neue Rechnung
herunter. Falls der Button bei Ihnen fehlt, melden Sie sich kurz, dann gebe ich das an unsere
Buchhaltung weiter.

=== de_rueckgabe | Frage zur Rückgabe | *
U: Kann ich die {model} zurückschicken, wenn sie mir nicht gefällt? Wer trägt die Versandkosten?
U| Wie lange habe ich Zeit für eine Rückgabe? Bin mir mit der Größe noch unsicher.
A: Ja, problemlos. Sie haben 30 Tage ab Lieferung, egal aus welchem Grund, und die Rücksendung
ist kostenlos:

1. Auf brightfield.example/ruecksendung Bestellnummer und E-Mail-Adresse eingeben.
2. Das vorfrankierte DHL-Etikett ausdrucken oder den QR-Code in der Filiale zeigen.
3. Die Lampe mit Zubehör einpacken; der Originalkarton ist nicht nötig.

Die Erstattung erfolgt innerhalb von 5–7 Werktagen, nachdem das Paket bei uns angekommen ist.
A| Sie haben 30 Tage ab Lieferung, also mehr als die gesetzlichen 14 Tage Widerruf. Das
Rücksendeetikett ist kostenlos (brightfield.example/ruecksendung), und die Lampe darf
ausgepackt und benutzt sein, solange alles Zubehör dabei ist. Den vollen Kaufpreis erhalten Sie
innerhalb einer Woche nach Eingang zurück.

=== de_garantie | Garantie für die {model} | *
U: Wie lange gilt die Garantie auf die {model}, und was ist abgedeckt?
U| Sind die LEDs bei der Garantie mit drin? Und wie lange läuft die?
A: Alle Lumen-Lampen haben 2 Jahre Garantie ab Lieferung, zusätzlich zu Ihren gesetzlichen
Gewährleistungsrechten. Abgedeckt sind Herstellungsfehler: ausgefallene oder flackernde LEDs,
Touch-Bedienung oder Sensoren ohne Funktion, ein defektes Netzteil, Gelenke der Arc, die nicht
mehr halten. Nicht abgedeckt sind Sturz- und Kratzschäden sowie Schäden durch ein fremdes
Netzteil mit falscher Spannung.

Mit Care+ (29 €, abschließbar innerhalb von 60 Tagen nach dem Kauf) verlängert sich die
Garantie auf insgesamt 4 Jahre.
A| Ja, die LEDs sind abgedeckt, ebenso Elektronik, Sensoren und das mitgelieferte Netzteil. Die
Garantie läuft 2 Jahre ab Lieferung; mit Care+ (29 €, in der App innerhalb von 60 Tagen
buchbar) sind es 4 Jahre. Für einen Garantiefall brauchen wir nur die Seriennummer von der
Unterseite des Fußes.

=== de_flimmern | Ist die {model} flimmerfrei? | *
U: Ich bekomme von billigen LED-Lampen Kopfschmerzen. Ist die {model} flimmerfrei?
U| Nutzt die {model} PWM zum Dimmen? Ich reagiere empfindlich auf Flimmern. Und wie hoch ist der
CRI?
A: Ja. Lumen-Lampen dimmen mit Gleichstrom statt PWM, das Licht bleibt also auf jeder
Helligkeitsstufe bis hinunter auf 1 % ruhig. Die {model} hat außerdem einen
Farbwiedergabeindex (CRI) von {cri}, was Farben und Text natürlich wirken lässt und die Augen
bei langen Sitzungen schont.

Vielen Menschen mit Flimmerempfindlichkeit hilft abends zusätzlich wärmeres, gedämpftes Licht;
die Szene „Wind Down“ stellt das automatisch ein.
A| Kein PWM: Alle Lumen-Modelle dimmen mit Konstantstrom, also auch bei niedriger Helligkeit
ohne Flimmern. Der CRI der {model} liegt bei {cri}.

Achten Sie außerdem auf Blendung: Richten Sie den Kopf so aus, dass Sie die LEDs von Ihrem
Platz aus nicht direkt sehen, und halten Sie die Helligkeit ähnlich wie die Ihres Bildschirms.

=== de_firmware | Firmware-Update hängt bei {pct} % | Pro,Arc | n=2
U: Das Firmware-Update meiner {model} hängt seit 20 Minuten bei {pct} %. Kann ich den Stecker
ziehen?
U| Update auf {fw_new} bleibt bei {pct} % stehen. Ist die Lampe jetzt kaputt?
A: Keine Sorge, der Lampe passiert nichts. Die {model} lädt neue Firmware in einen zweiten Speicher
und wechselt erst, wenn der Download vollständig und geprüft ist. Ein abgebrochenes Update
lässt die bisherige Version einfach weiterlaufen.

Warten Sie noch 10 Minuten, dann:

1. Die Lampe 10 Sekunden vom Strom trennen und wieder einstecken.
2. In Brightfield Home unter Lampeneinstellungen > Firmware das Update neu starten.
3. Bleibt es wieder hängen, die Lampe näher am Router aufstellen oder den Router neu starten.
A| Sie können den Stecker bedenkenlos ziehen: Das Update wird erst vollständig geladen und
geprüft, bevor etwas ersetzt wird. Trennen Sie die Lampe 10 Sekunden vom Strom, warten Sie, bis
sie in der App wieder online ist, und starten Sie das Update unter Lampeneinstellungen >
Firmware erneut. Meist steckt ein schwaches WLAN-Signal dahinter.

=== de_praesenz | Lumen Pro schaltet sich ab | Pro | n=2
U: Meine Lumen Pro geht ständig aus, obwohl ich direkt daneben sitze und lese. Warum?
U| Die Pro schaltet sich nach einer Weile von selbst ab und geht wieder an, wenn ich winke. Ist
das ein Defekt?
A: Das ist der Präsenzsensor. Erkennt er 10 Minuten lang niemanden vor der Lampe, schaltet er
sie zum Energiesparen ab und bei der nächsten Bewegung wieder ein. Wer still und etwas seitlich
liest, ist manchmal außerhalb seines Erfassungsbereichs (etwa 2 Meter vor der Lampe).

In Brightfield Home unter Lampeneinstellungen > Präsenz können Sie die Wartezeit verlängern
(1 bis 60 Minuten), die Empfindlichkeit erhöhen oder die Funktion ganz ausschalten.
A| Kein Defekt, sondern der Präsenzsensor: Ohne erkannte Bewegung schaltet die Pro nach
10 Minuten ab, jede Bewegung schaltet sie wieder ein. Unter Lampeneinstellungen > Präsenz
lassen sich Empfindlichkeit und Wartezeit (bis 60 Minuten) anpassen oder der Sensor
abschalten.
"""

DE_MULTI = """
=== de_offline | Lampe offline | Pro,Arc | min=2
U: Meine {model} wird in der App seit heute Morgen als „Offline“ angezeigt. Ich habe nichts
verändert.
U| Seit gestern Abend kann ich meine {model} nicht mehr über die App steuern, sie ist offline.
A: Gehen wir der Sache nach. Zwei kurze Fragen:

1. Reagiert die Lampe noch auf die Touch-Bedienung?
2. Wurde Ihr Router in letzter Zeit neu gestartet oder aktualisiert?
A| Das tut mir leid. Reagiert die Lampe noch, wenn Sie sie direkt am Gerät bedienen? Und wissen
Sie, ob Ihr Router über Nacht neu gestartet oder aktualisiert wurde? Das ist die häufigste
Ursache.
U: Touch funktioniert. Router: {router}, und ich glaube, es gab ein Update.
U| Am Gerät geht alles. Als Router habe ich {router}; gestern Abend war kurz das Internet weg.
A: Dann ist die Lampe in Ordnung und es geht um die Verbindung. Bitte der Reihe nach:

1. Die Lampe 10 Sekunden vom Strom trennen; beim Start verbindet sie sich neu.
2. Bleibt sie offline: Lampeneinstellungen > WLAN > Neu verbinden.
3. Sonst im Router prüfen, ob das 2,4-GHz-Band noch aktiv ist und die Verschlüsselung auf WPA2
oder WPA2/WPA3 steht. Updates legen manchmal auch 2,4 und 5 GHz unter einem Namen zusammen.
A| Gut, dann ist die Hardware in Ordnung. Trennen Sie die Lampe zuerst 10 Sekunden vom Strom.
Ist sie nach einer Minute nicht wieder online, nutzen Sie Lampeneinstellungen > WLAN > Neu
verbinden. Klappt auch das nicht, hat das Router-Update vermutlich etwas umgestellt: 2,4 GHz
muss aktiv sein, und die Verschlüsselung darf nicht auf reinem WPA3 stehen.
U: Das Update hatte tatsächlich beide Bänder zusammengelegt. Wieder getrennt, Lampe ist online.
Danke!
U| Gefunden: Der Router stand plötzlich auf WPA3. Zurückgestellt, jetzt läuft alles wieder.
A: Prima, schön, dass es wieder läuft! Falls Ihr Anbieter das noch einmal macht, hilft derselbe
Handgriff. Und wenn Sie irgendwann das WLAN-Passwort ändern, nutzen Sie „Neu verbinden“ statt
eines Resets, dann bleiben Szenen und Routinen erhalten.
A| Super, danke für die Rückmeldung. Viel Freude weiterhin mit der Lampe!

=== de_arm | Arm der Arc sinkt ab | Arc | n=2 min=2
U: Der Arm meiner Lumen Arc sinkt langsam nach unten, wenn ich den Kopf höher stelle. Kann man
das beheben?
U| Meine Arc bleibt nicht in Position, der Kopf sackt langsam ab. Ist das ein Defekt?
A: Meist muss nur die Spannung nachgestellt werden. Am mittleren Gelenk sitzt eine
Innensechskantschraube (4 mm). Drehen Sie sie eine Vierteldrehung im Uhrzeigersinn, testen
Sie, und wiederholen Sie das, bis der Arm hält. Der passende Schlüssel steckt in einer Halterung
unter dem Fuß.

Nicht zu fest anziehen: Der Arm soll sich noch leichtgängig bewegen lassen.
A| Das Gelenk setzt sich in den ersten Wochen oft etwas. Mit dem 4-mm-Inbusschlüssel aus dem
Fuß die Schraube am mittleren Gelenk jeweils eine Vierteldrehung anziehen, bis der Kopf in
Position bleibt.
U: Der Schlüssel ist weg, der ist wohl mit der Verpackung im Müll gelandet.
A: Jeder handelsübliche 4-mm-Inbusschlüssel passt, etwa aus einem Möbelbausatz oder einem
Fahrrad-Multitool. Haben Sie keinen, schicken wir Ihnen gern kostenlos einen zu.
A| Kein Problem, jeder 4-mm-Innensechskantschlüssel tut es. Falls Sie keinen haben, nennen Sie
mir Ihre Adresse, dann senden wir Ihnen einen kostenlos.

=== de_farbe | Farbe anders als erwartet | * | n=2 min=2
U: Meine {model} in {colour} ist heute angekommen, sieht aber viel grauer aus als auf der
Website. Ist das normal?
A: Das tut mir leid. Unsere Oberflächen sind matt und wirken je nach Raumlicht sehr
unterschiedlich: Bei kühlem Tageslicht erscheint {colour} gräulicher, bei warmem Licht näher an
den Produktfotos. Auch Bildschirme stellen Farben unterschiedlich dar.

Wenn sie Ihnen trotzdem nicht gefällt, tauschen wir sie innerhalb von 30 Tagen nach Lieferung
kostenlos in eine andere Farbe um.
A| Das ist ärgerlich. Die matte Oberfläche reagiert stark auf das Umgebungslicht, daher kann
{colour} bei Tageslicht gedeckter wirken als auf unseren Fotos. Sie sollen aber zufrieden sein:
Innerhalb von 30 Tagen nach Lieferung tauschen wir die Farbe kostenlos.
U: Dann hätte ich sie lieber in {other_colour}. Wie funktioniert der Umtausch?
U| Wie läuft so ein Umtausch ab?
A: Auf brightfield.example/ruecksendung Ihre Bestellung auswählen, „Umtausch“ anklicken und die
neue Farbe wählen. Die neue Lampe geht raus, sobald DHL Ihre Rücksendung scannt, Sie sind also
nicht lange ohne Licht. Das Rücksendeetikett ist kostenlos, und es wird nichts zusätzlich
berechnet.
A| Unter brightfield.example/ruecksendung die Bestellung öffnen, „Umtausch“ wählen und die
Wunschfarbe angeben. Etikett ausdrucken, Paket abgeben, und die neue Lampe wird verschickt,
sobald die Sendung gescannt ist. Kosten entstehen Ihnen keine.
"""

DE_WEIGHT0 = """
=== de_hallo | Begrüßung, dann eine Frage | * | min=2
U: Hallo
U| Guten Tag, ist da jemand?
A0: Hallo und willkommen beim Brightfield-Support! Wie kann ich Ihnen helfen?
A| Guten Tag! Was kann ich für Sie tun?
U: Meine {model} gibt ein leises, hohes Pfeifen von sich, wenn ich sie unter etwa 10 % dimme.
Ist das normal?
U| Aus meiner {model} kommt bei niedriger Helligkeit ein leises Surren. Muss ich mir Sorgen
machen?
A: Ein sehr leises Geräusch kann bei niedriger Helligkeit von der Elektronik kommen, von Ihrem
Sitzplatz aus sollten Sie es aber nicht hören. Wenn doch, ist das ein Garantiefall.

Schicken Sie mir bitte die Seriennummer (Aufkleber unter dem Fuß oder in der App unter
Lampeneinstellungen > Info) und wenn möglich ein kurzes Video mit Ton. Dann veranlassen wir
einen Austausch.
A| Bei normalem Abstand sollte nichts zu hören sein. Stört Sie das Geräusch am Schreibtisch,
behandeln wir es als Garantiefall. Nennen Sie mir bitte die Seriennummer von der Unterseite des
Fußes, dann kümmere ich mich um den Austausch.

=== de_alte_frist | Falsche Rückgabefrist | * | n=2 min=2
U: Bis wann kann ich meine {model} zurückgeben? Sie wurde am {delivered_txt} geliefert.
A0: Rücksendungen sind innerhalb von 14 Tagen nach Lieferung möglich, sofern der Artikel unbenutzt
und originalverpackt ist.
U: Auf Ihrer Website stehen aber 30 Tage, und geöffnete Artikel seien okay?
U| Das widerspricht Ihrer Rückgabeseite, dort steht 30 Tage.
A: Sie haben recht, entschuldigen Sie bitte. Die Frist beträgt 30 Tage ab Lieferung, und auch
ausgepackte oder benutzte Lampen nehmen wir zurück, solange alles Zubehör dabei ist. Da Ihre am
{delivered_txt} geliefert wurde, haben Sie bis zum {return_by_txt} Zeit. Das kostenlose Etikett
gibt es unter brightfield.example/ruecksendung.
A| Entschuldigung, das war falsch: Es sind 30 Tage ab Lieferung, und die Lampe muss weder
unbenutzt noch originalverpackt sein. Für Ihre Bestellung heißt das: bis zum {return_by_txt}.
"""

DE_TOOLS = """
=== de_bestellung | Wo ist meine Bestellung | * | n=3 min=1 tools=lookup_order,create_refund
U: Hallo, wo bleibt meine Bestellung {order}? Ich habe vor ein paar Tagen eine {model} bestellt.
U| Können Sie bitte nach {order} schauen? Die Sendungsverfolgung bewegt sich seit gestern nicht.
C: lookup_order {"order_id": "{order}"}
R: {"order_id": "{order}", "status": "in_transit", "placed_at": "{placed_iso}",
"customer": {"first_name": "{name}"},
"items": [{"sku": "{sku}", "name": "{model}", "colour": "{colour_en}", "quantity": 1,
"unit_price": "{price}"}],
"currency": "{currency}", "total": "{price}",
"shipping": {"carrier": "DHL", "service": "standard", "tracking_number": "{tracking}",
"shipped_at": "{shipped_iso}", "estimated_delivery": "{eta_iso}"}}
A: Hallo {name}, Ihre {model} in {colour} ist unterwegs: Sie hat unser Lager in Rotterdam am
{shipped_txt} mit DHL verlassen und soll am {eta_txt} ankommen. Die Sendungsnummer lautet
{tracking}.

Falls die Sendungsverfolgung einmal einen Tag stillsteht: Das ist normal, solange das Paket
zwischen zwei Verteilzentren unterwegs ist.
A| Ihre Bestellung {order} ist verschickt: DHL hat sie am {shipped_txt} übernommen, die
Zustellung ist für den {eta_txt} angekündigt. Sendungsnummer: {tracking}.
U: Kann DHL das Paket an eine Packstation liefern, wenn ich nicht da bin?
A: Sobald das Paket unterwegs ist, können wir die Zustellung nicht mehr ändern, DHL aber schon.
Geben Sie die Sendungsnummer {tracking} in der DHL-App ein: Dort können Sie eine Packstation,
eine Filiale, einen Ablageort oder einen Nachbarn wählen.
A| Ja, direkt bei DHL: Mit der Sendungsnummer {tracking} können Sie in der DHL-App oder auf
dhl.de eine Packstation oder einen Wunschtag auswählen.

=== de_erstattung | Rückgabe mit Erstattung | * | n=3
U: Ich möchte meine {model} zurückgeben (Bestellung {order}). Sie funktioniert, ist mir aber zu
groß.
U| Bitte erstatten Sie mir Bestellung {order}, die Lampe passt doch nicht zu mir. Sie ist in
einwandfreiem Zustand.
C: lookup_order {"order_id": "{order}"}
R: {"order_id": "{order}", "status": "delivered", "placed_at": "{ordered_iso}",
"customer": {"first_name": "{name}"},
"items": [{"sku": "{sku}", "name": "{model}", "colour": "{colour_en}", "quantity": 1,
"unit_price": "{price}"}],
"currency": "{currency}", "total": "{price}",
"shipping": {"carrier": "DHL", "tracking_number": "{tracking}", "delivered_at": "{delivered_iso}"},
"return_eligible_until": "{return_by_iso}"}
C: create_refund {"order_id": "{order}", "reason": "changed_mind", "amount": "{price}"}
R: {"refund_id": "{refund_id}", "order_id": "{order}", "status": "awaiting_return",
"amount": "{price}", "currency": "{currency}",
"return_label_url": "https://brightfield.example/returns/label/{refund_id}",
"label_valid_days": 14}
A: Erledigt, {name}. Die Rücksendung {refund_id} über {price_txt} ist angelegt:

1. Etikett ausdrucken: https://brightfield.example/returns/label/{refund_id} (kommt auch per
E-Mail).
2. Das Paket innerhalb von 14 Tagen bei DHL abgeben.
3. Nach Eingang in unserem Lager erstatten wir {price_txt} innerhalb von 5–7 Werktagen auf Ihr
ursprüngliches Zahlungsmittel.
A| Kein Problem, Ihre Bestellung liegt in der 30-Tage-Frist. Ich habe die Rücksendung {refund_id}
über den vollen Betrag von {price_txt} angelegt. Das kostenlose DHL-Etikett finden Sie hier:
https://brightfield.example/returns/label/{refund_id} (14 Tage gültig). Die Erstattung folgt
5–7 Werktage nach Eingang der Lampe.

=== de_garantie_check | Defekte Lampe mit Garantie | * | n=3 tools=check_warranty
U: Meine {model} lässt sich nicht mehr einschalten, auch die Touch-Bedienung reagiert nicht.
Seriennummer {serial}.
U| Lampe seit heute früh tot. {model}, Seriennummer {serial}. Ist da noch Garantie drauf?
C: check_warranty {"serial_number": "{serial}"}
R: {"serial_number": "{serial}", "model": "{model}", "purchase_date": "{purchase_iso}",
"warranty_until": "{warranty_iso}", "status": "active", "care_plus": false}
A: Gute Nachricht: Ihre {model} hat noch Garantie bis zum {warranty_year}.

Bevor wir tauschen, bitte einmal eine andere Steckdose und wenn möglich ein anderes passendes
Netzteil probieren, denn ein defektes Netzteil sieht genauso aus wie eine defekte Lampe. Bleibt
sie dunkel, melden Sie den Garantiefall unter brightfield.example/garantie mit der Seriennummer
{serial}. Die Ersatzlampe geht innerhalb von 2 Werktagen raus, mit einem vorfrankierten Etikett
für die alte.
A| Das tut mir leid. Die Garantie läuft noch bis zum {warranty_year}, der Fall ist also
abgedeckt. Melden Sie ihn unter brightfield.example/garantie mit der Seriennummer {serial}; wir
schicken innerhalb von 2 Werktagen eine neue {model}, die alte geht mit beiliegendem Etikett
kostenlos zurück. Falls es doch nur am Netzteil liegt, senden wir Ihnen einfach ein neues.

=== de_bestellung_garantie | Rückgabe oder Garantie? | * | n=2
U: Die Touch-Bedienung meiner {model} funktioniert nicht mehr. Bestellung {order}, Seriennummer
{serial}. Kann ich sie noch zurückgeben oder ist das ein Garantiefall?
C: lookup_order {"order_id": "{order}"}
C: check_warranty {"serial_number": "{serial}"}
R: {"order_id": "{order}", "status": "delivered", "placed_at": "{purchase_iso}",
"items": [{"sku": "{sku}", "name": "{model}", "colour": "{colour_en}", "quantity": 1,
"unit_price": "{price}"}],
"currency": "{currency}", "total": "{price}",
"shipping": {"carrier": "DHL", "delivered_at": "{purchase_iso}"},
"return_eligible_until": "{purchase_return_iso}"}
R: {"serial_number": "{serial}", "model": "{model}", "purchase_date": "{purchase_iso}",
"warranty_until": "{warranty_iso}", "status": "active", "care_plus": false}
A: Ich habe beides geprüft. Die 30-tägige Rückgabefrist für {order} ist am {purchase_return_year}
abgelaufen, aber die Lampe hat Garantie bis zum {warranty_year}, und eine defekte
Touch-Bedienung ist genau so ein Fall.

Melden Sie ihn unter brightfield.example/garantie mit der Seriennummer {serial}. Wir schicken
innerhalb von 2 Werktagen Ersatz, mit einem vorfrankierten Etikett für die alte Lampe. Vorher
lohnt sich ein Reset; manchmal kommt die Touch-Bedienung dadurch zurück.
A| Die Rückgabefrist ist seit dem {purchase_return_year} vorbei, aber das macht nichts: Die
Garantie läuft bis zum {warranty_year}. Melden Sie den Defekt mit der Seriennummer {serial}
unter brightfield.example/garantie, dann bekommen Sie eine neue {model} und schicken die alte
kostenlos zurück.
"""

CONTENT = {
    "en": EN_SINGLE + EN_MULTI + EN_WEIGHT0 + EN_TOOLS,
    "fr": FR_SINGLE + FR_MULTI + FR_WEIGHT0 + FR_TOOLS,
    "de": DE_SINGLE + DE_MULTI + DE_WEIGHT0 + DE_TOOLS,
}


# --------------------------------------------------------------------------------------------
# broken.jsonl: the common mistakes, one or two per line, among valid lines.
# --------------------------------------------------------------------------------------------


def as_line(record: Any) -> str:
    return json.dumps(record, ensure_ascii=False)


def user(text: str) -> dict[str, Any]:
    return {"role": "user", "content": text}


def assistant(text: str, **extra: Any) -> dict[str, Any]:
    return {"role": "assistant", "content": text, **extra}


def lookup_call(call: str, order: str, arguments: Any = None) -> dict[str, Any]:
    args = arguments if arguments is not None else arguments_json({"order_id": order})
    return {"id": call, "type": "function", "function": {"name": "lookup_order", "arguments": args}}


def order_exchange(call: str, tool_call_id: str, arguments: Any = None) -> dict[str, Any]:
    """A lookup_order round trip with the given ids (and arguments, when not the JSON string)."""
    result = {"order_id": "BF-318274", "status": "in_transit", "estimated_delivery": "2025-05-22"}
    return {
        "messages": [
            user("Where is my order BF-318274?"),
            {"role": "assistant", "tool_calls": [lookup_call(call, "BF-318274", arguments)]},
            {"role": "tool", "tool_call_id": tool_call_id, "content": as_line(result)},
            assistant("It's on its way with UPS and should arrive on May 22."),
        ],
        "tools": [TOOLS["lookup_order"]],
    }


RESET_MINI = as_line(
    {
        "messages": [
            user("How do I reset my Lumen Mini?"),
            assistant(
                "Hold the touch strip and the power button together for about 8 seconds, until "
                "the lamp pulses white twice."
            ),
        ]
    }
)

JSON_ERROR = (("json", "error"),)
BROKEN: list[tuple[str, tuple[tuple[str, str], ...], str]] = [
    (RESET_MINI, (), "valid: one user turn, one assistant turn"),
    (
        '{"messages": [{"role": "user", "content": "Is the Lumen Pro dimmable?"}, '
        '{"role": "assistant", "content": "Yes, from 1% to 100%."},]}',
        JSON_ERROR,
        "invalid JSON: trailing comma after the last message",
    ),
    (
        "{'messages': [{'role': 'user', 'content': 'Hi'}, "
        "{'role': 'assistant', 'content': 'Hello! How can I help?'}]}",
        JSON_ERROR,
        "invalid JSON: single quotes",
    ),
    ("", JSON_ERROR, "a blank line"),
    (
        as_line(
            {
                "messages": [
                    user("hi"),
                    {"role": "bot", "content": "Hello! How can I help?"},
                    user("Is the Lumen Arc dimmable?"),
                    assistant("Yes, smoothly from 1% to 100%, with the touch controls or the app."),
                ]
            }
        ),
        (("role", "error"),),
        'role "bot" (only system, user, assistant, tool)',
    ),
    (
        as_line(
            {
                "messages": [
                    {"role": "User", "content": "Does the Lumen Mini have a battery?"},
                    assistant("No, it runs on USB-C power (15 W); there's no built-in battery."),
                ]
            }
        ),
        (("role", "error"),),
        'role "User": roles are case-sensitive',
    ),
    (
        as_line(
            {
                "messages": [
                    user("How many lumens does the Lumen Pro give?"),
                    {"role": "assistant", "content": 900},
                ]
            }
        ),
        (("schema", "error"),),
        "content is a number, not a string",
    ),
    (
        as_line(
            {
                "messages": [
                    {
                        "role": "system",
                        "content": "You are Brightfield's support assistant for Lumen lamps.",
                    },
                    user("My Lumen Pro turns off while I'm reading."),
                    assistant(
                        "That's the presence sensor. You can lengthen its timeout or turn it "
                        "off under Lamp settings > Presence."
                    ),
                    user("Found it, thanks!"),
                    assistant("You're welcome, enjoy the lamp!"),
                ]
            }
        ),
        (),
        "valid: system prompt and two exchanges",
    ),
    (
        as_line(
            {
                "messages": [
                    user("What colours does the Lumen Arc come in?"),
                    {"role": "assistant", "content": None},
                ]
            }
        ),
        (("schema", "error"),),
        "content null on an assistant message without tool_calls",
    ),
    (
        as_line({"messages": "user: Is the Arc clamp included?\nassistant: No, sold separately."}),
        (("schema", "error"),),
        "messages is a string, not a list",
    ),
    (
        as_line(
            {
                "messages": [
                    user("Can I return a lamp I've already used?"),
                    assistant(
                        "Yes, within 30 days of delivery, as long as all parts are included."
                    ),
                    user("Great, and who pays for shipping?"),
                ]
            }
        ),
        (("structure", "error"),),
        "the last message is from the user, not the assistant",
    ),
    (
        as_line(
            {
                "messages": [
                    user("Is the Lumen Mini flicker-free?"),
                    assistant(
                        "Yes, it uses DC dimming, so there's no flicker at any brightness.",
                        weight=0.5,
                    ),
                ]
            }
        ),
        (("weight", "error"),),
        "weight 0.5 (only 0 or 1)",
    ),
    (
        as_line(order_exchange("call_abc123def", "call_abc123def")),
        (("tool", "error"),),
        'tool-call id "call_abc123def" (and the tool_call_id answering it) is not 9 characters '
        "[a-zA-Z0-9]",
    ),
    (
        as_line(order_exchange("Xk29fLq0B", "Xk29fLq0B", arguments={"order_id": "BF-318274"})),
        (("tool", "error"),),
        "arguments is a JSON object, not a string holding JSON",
    ),
    (as_line(order_exchange("Ab3dE9kLm", "Ab3dE9kLm")), (), "valid: one tool call and its result"),
    (
        as_line(
            {
                "messages": [
                    user("Has my order shipped?"),
                    assistant("Let me check that for you."),
                    {
                        "role": "tool",
                        "tool_call_id": "q7Rt2ZpW1",
                        "content": '{"status": "processing"}',
                    },
                    assistant("It's still being prepared and should ship tomorrow."),
                ]
            }
        ),
        (("structure", "error"), ("tool", "warning")),
        "a tool message that answers no call (after a plain assistant turn; its tool_call_id "
        "matches no call id)",
    ),
    (
        as_line(
            {
                "messages": [
                    {"role": "system", "content": "You are Brightfield's support assistant."},
                    {"role": "system", "content": "Always answer in English."},
                    user("How long is the warranty?"),
                    assistant("Two years from delivery, or four years with Care+."),
                ]
            }
        ),
        (("structure", "error"),),
        "two system messages",
    ),
    (
        as_line(
            {
                "messages": [
                    user("[INST] What's the warranty on the Lumen Arc? [/INST]"),
                    assistant("Two years from delivery, covering manufacturing defects."),
                ]
            }
        ),
        (("special_token", "warning"),),
        "[INST] and [/INST] inside the content (already-templated text)",
    ),
    (RESET_MINI, (("duplicate", "warning"),), "a duplicate of line 1"),
    ("[1, 2]", (("not_object", "error"),), "the line is a JSON array, not an object"),
    (
        as_line(
            {
                "messages": [
                    user("Bonjour"),
                    assistant(
                        "Bonjour et bienvenue chez Brightfield ! Comment puis-je vous aider ?",
                        weight=0,
                    ),
                    user("La Lumen Pro fonctionne-t-elle avec Google Home ?"),
                    assistant(
                        "Oui, via Matter : ajoutez-la dans Google Home comme n'importe quelle "
                        "lampe Matter.",
                        weight=1,
                    ),
                ]
            }
        ),
        (),
        "valid: an early assistant turn at weight 0",
    ),
    (
        as_line(
            {
                "messages": [
                    user("Können Sie Bestellung BF-552910 prüfen?"),
                    {"role": "assistant", "tool_calls": [lookup_call("Zp4Kq8Wn2", "BF-552910")]},
                ],
                "tools": [TOOLS["lookup_order"]],
            }
        ),
        (),
        "valid: ends on an assistant tool call",
    ),
]
BROKEN_README = """# broken.jsonl: common mistakes, one or two per line

Generated by `examples/make_examples.py` (do not edit by hand). Each line of `broken.jsonl` holds
one or two of the mistakes people make most often in Mistral fine-tuning files, among a few
valid lines. The table lists, for every line, the categories ([docs/data.md](../../docs/data.md))
that a validator must report on it and their severity (`tool` is an error on lines 13 and 14; on
line 16 it is the warning "a `tool_call_id` that matches no earlier call id", beside the
`structure` error). Valid lines must produce no finding. Line 4 is deliberately blank. The
file as a whole also draws a file-level `size` warning: it holds fewer than 10 valid
conversations.

| line | categories | severity | mistake |
|---|---|---|---|
"""


# --------------------------------------------------------------------------------------------
# pretrain.jsonl: paragraphs of Lumen product documentation, separated here by '---' lines.
# --------------------------------------------------------------------------------------------

PRETRAIN_SOURCE = """
The Lumen family is a range of smart desk lamps designed by Brightfield. Three models share the
same light engine and the same companion app, Brightfield Home: the compact Lumen Mini
(450 lumens, 2700–5000 K), the Lumen Pro (900 lumens, 2700–6500 K) with its presence sensor and
ambient light sensor, and the Lumen Arc (1200 lumens, 2200–6500 K), an articulated lamp with an
asymmetric head and an RGB accent ring.
---
The Lumen Mini is powered over USB-C and needs 5 V / 3 A (15 W) for full brightness. The
included 20 W adapter and 1.5 m cable provide this. When the Mini is connected to a port that
supplies less power, it limits its brightness to 50% and blinks amber once when switched on.
Running the lamp at reduced power does not damage it.
---
The Lumen Mini connects to Brightfield Home over Bluetooth Low Energy and has no Wi-Fi radio.
It can be controlled from the app within about 10 metres. Routines are stored on the lamp
itself and run at the scheduled times without a phone nearby; the lamp keeps time with an
internal clock that it synchronises whenever the app connects.
---
The Mini's touch strip runs along the top of the head. Tap it to switch the lamp on or off,
slide a finger along it to dim, and double-tap to cycle between warm (2700 K), neutral (4000 K)
and cool (5000 K) white. A long press recalls the scene saved as favourite in the app.
---
The Lumen Pro connects to Wi-Fi on the 2.4 GHz band (802.11 b/g/n) and supports WPA2 and
mixed WPA2/WPA3 security. Networks that use WPA3 only, or captive portals such as hotel and
campus networks with a sign-in page, are not supported. Bluetooth is used during setup and as
a fallback when the Wi-Fi network is unavailable.
---
The Pro's presence sensor watches an area of about 2 metres in front of the lamp. When no one
is detected for the set timeout (10 minutes by default, adjustable from 1 to 60 minutes), the
lamp switches off, and it switches on again at the next movement. Sensitivity can be set to
low, medium or high, and presence detection can be turned off entirely under Lamp settings >
Presence.
---
Auto Light uses the ambient light sensor on the top of the Lumen Pro's head to measure the
light already falling on the desk and adjusts the lamp's output so the total stays constant.
Lower and upper limits keep the brightness within a range the user chooses. Touching the
dimmer pauses Auto Light until the lamp is next switched on.
---
The USB-C port in the base of the Lumen Pro delivers up to 15 W to charge a phone, earbuds or
a smartwatch. The port stays powered when the light is switched off, as long as the lamp is
connected to mains power. It does not transfer data and is not designed to charge laptops.
---
The Lumen Arc has three joints and a head that rotates through 300 degrees. Joint tension is
set at the factory and can be adjusted with the 4 mm hex key stored under the weighted base:
turning the screw on the middle joint clockwise makes the arm stiffer. The Arc Desk Clamp,
sold separately, replaces the base and fits desktops from 12 to 65 mm thick.
---
The Arc's head uses asymmetric optics: the light is thrown forward and down across the desk
rather than straight below the head, which keeps reflections off a monitor placed behind the
lamp. With a colour rendering index of 97 and a range from 2200 K candle-warm to 6500 K
daylight, the Arc suits both reading and colour-critical work.
---
The accent ring on the back of the Arc's head is an independent RGB light. It can show any
colour at its own brightness, run one of the built-in effects (Breathe, Sunset, Focus pulse)
or stay off. Its setting can be saved in a scene together with the main light, and it is off by
default after a factory reset.
---
All Lumen lamps use constant-current (DC) dimming instead of pulse-width modulation, so the
light output does not flicker at any brightness between 1% and 100%. The Mini has a colour
rendering index of 90, the Pro 95 and the Arc 97. The LEDs are rated for 50,000 hours of use
and are not user-replaceable.
---
Circadian mode changes the colour temperature over the day according to the sunrise and sunset
times of the location set in Brightfield Home. Light is cooler and brighter around midday and
becomes gradually warmer from about one hour before sunset. When no location is set, the mode
follows a fixed day from 7:00 to 19:00. The start of the evening warm-up can be set to a fixed
time.
---
Focus mode sets the lamp to 5000 K at full brightness and can run a work-and-break timer. At
the end of a work interval the light dims to 30% and warms slightly to signal the break, then
returns to full Focus light. Work intervals can last 15 to 90 minutes and breaks 5 to 20
minutes; a single tap on the lamp skips the current break.
---
Wind Down is an evening scene that fades the lamp to a warm, low light over 30 minutes: 2700 K
at 20% on the Mini and the Pro, and 2200 K at 15% on the Arc. It can be started from the app,
by voice on the Pro and Arc, or automatically by a routine.
---
A Wake up routine brightens the lamp gradually before a chosen time, starting from 1% at the
warmest colour temperature. The fade can last from 10 to 45 minutes, and the final brightness
and colour temperature are set per routine. Several Wake up routines with different days can
coexist, for example one for weekdays and one for weekends.
---
Power-on behaviour decides what a Lumen lamp does when power returns after an outage or after
being unplugged. The options are Last state, which restores the lamp to on or off as it was,
Off, and On at 50%. The setting is stored on the lamp and is found under Lamp settings > Power.
---
Firmware updates for the Lumen Pro and Arc are downloaded over Wi-Fi into a second memory slot
and installed only after the complete file has been verified. If a download is interrupted,
the lamp keeps running its current firmware and the update can simply be started again.
Updates for the Lumen Mini are transferred over Bluetooth and take about six minutes; the phone
must stay within 2 metres with the app open.
---
Lumen Pro and Arc lamps with firmware 4.0 or later support Matter and can be added to Apple
Home, Google Home, Amazon Alexa and other Matter controllers. A setup code is generated in
Brightfield Home under Lamp settings > Matter > Pair with another app; codes expire after 15
minutes. Alexa can also be connected through the Brightfield Home skill.
---
To restore factory settings on a Lumen Pro or Arc, hold the power button on the back of the
base for 10 seconds until the light blinks amber three times. On the Lumen Mini, hold the touch
strip and the power button together for 8 seconds until the light pulses white twice. A reset
clears Wi-Fi credentials, scenes and routines but keeps the installed firmware.
---
Lumen lamps carry a two-year warranty from the date of delivery, covering defects in materials
and workmanship, including the LEDs, electronics, sensors and the included power adapter.
Care+, available for purchase within 60 days of buying a lamp, extends the warranty to four
years in total. Claims are made online with the serial number printed under the base.
---
Clean Lumen lamps with a soft, dry microfibre cloth. For marks on the body, use a cloth
slightly dampened with water and a drop of mild soap, then wipe dry. Do not use alcohol, glass
cleaner, solvents or abrasive pads on the diffuser, as they can cloud it. The Brushed Brass
finish of the Arc develops a natural patina over time.
---
La Lumen Mini se règle entièrement depuis sa bande tactile : un appui l'allume ou l'éteint,
un glissement du doigt fait varier l'intensité et un double appui passe du blanc chaud au blanc
neutre puis au blanc froid. Aucune application n'est nécessaire pour l'usage quotidien ;
Brightfield Home sert aux routines, aux scènes et aux mises à jour.
---
La Lumen Pro se connecte uniquement aux réseaux Wi-Fi 2,4 GHz. Si votre box diffuse le 2,4 GHz
et le 5 GHz sous un même nom, séparez les deux bandes le temps de la configuration, puis
choisissez le réseau 2,4 GHz dans l'application. La sécurité WPA2 ou WPA2/WPA3 est prise en
charge ; le WPA3 seul ne l'est pas.
---
Le mode circadien fait évoluer la température de couleur au fil de la journée, d'après les
heures de lever et de coucher du soleil de la ville indiquée dans Brightfield Home. La lumière
est plus froide en milieu de journée et se réchauffe progressivement à partir d'environ une
heure avant le coucher du soleil.
---
Toutes les lampes Lumen bénéficient d'une garantie de deux ans à compter de la livraison,
portée à quatre ans avec l'option Care+. Les retours sont acceptés pendant 30 jours après la
livraison, sans justification, avec une étiquette de retour prépayée ; le remboursement
intervient sous 5 à 7 jours ouvrés après réception du colis.
---
La pince de bureau de la Lumen Arc, vendue séparément, remplace le pied lesté et s'adapte aux
plateaux de 12 à 65 mm d'épaisseur. Elle se monte en une minute avec la clé Allen de 4 mm
rangée sous le pied ; prévoyez environ 6 cm d'espace libre sous le bord du bureau.
---
Die Lumen Arc lässt sich über drei Gelenke ausrichten, der Kopf dreht sich um 300 Grad. Sinkt
der Arm mit der Zeit ab, ziehen Sie die Schraube am mittleren Gelenk mit dem 4-mm-Inbusschlüssel
aus dem Fuß jeweils eine Vierteldrehung an, bis der Kopf in Position bleibt.
---
Lumen-Lampen dimmen mit Konstantstrom statt mit Pulsweitenmodulation und flimmern daher auf
keiner Helligkeitsstufe. Zusammen mit einem hohen Farbwiedergabeindex (CRI 90 bei der Mini,
95 bei der Pro, 97 bei der Arc) eignen sie sich gut für lange Arbeitstage am Bildschirm.
---
Der Präsenzsensor der Lumen Pro erfasst einen Bereich von etwa zwei Metern vor der Lampe.
Wird dort für die eingestellte Zeit (standardmäßig 10 Minuten) niemand erkannt, schaltet sich
die Lampe ab und bei der nächsten Bewegung wieder ein. Wartezeit und Empfindlichkeit stellen
Sie in Brightfield Home unter Lampeneinstellungen > Präsenz ein.
"""
PRETRAIN = [
    reflow(chunk.strip().splitlines()) for chunk in PRETRAIN_SOURCE.strip().split("\n---\n")
]


# --------------------------------------------------------------------------------------------
# examples/data/README.md
# --------------------------------------------------------------------------------------------

DATA_README = """# Lumen example data

Generated by `examples/make_examples.py` (deterministic: `random.Random(7)`, same bytes on every
run; do not edit the files by hand). Lumen is a made-up smart desk lamp (Lumen Mini, Pro, Arc)
with a companion app, sold by the fictional company Brightfield; the conversations are
hand-written customer-support scenarios in English, French and German, with varied wordings and
slot values (names, order numbers, models, colours, dates, firmware versions).

| file | what |
|---|---|
| `support.sharegpt.jsonl` | the demo's source, ShareGPT (mapping: `../mappings/sharegpt.toml`) |
| `support.jsonl` | the same conversations, same order, in Mistral's fine-tuning format |
| `support.alpaca.json` | the single-turn, tool-free subset as an Alpaca JSON array |
| `support.csv` | the same subset as CSV (mapping: `../mappings/support-csv.toml`) |
| `broken.jsonl` | common mistakes, one or two per line; `broken.README.md` lists them |
| `pretrain.jsonl` | Lumen documentation paragraphs, one `{"text": ...}` per line |

## Content mix

```
@MIX@
```

## Conventions (what a conversion must reproduce)

- Line *n* of `support.jsonl` is line *n* of `support.sharegpt.jsonl` (whose `id`,
  `lumen-NNNN-xx`, ends with the language). The Mistral file has no `id` key.
- `system` becomes the first message, `{"role": "system"}`. `tools` (a JSON string in
  ShareGPT, a list in Mistral) is present only on conversations that call a tool, and declares
  the tools that conversation had available (a subset of `lookup_order`, `create_refund`,
  `check_warranty`).
- A `function_call` turn becomes an assistant message with `tool_calls` and no `content` key;
  its value is one `{"name", "arguments"}` object, or a JSON list of them for parallel calls.
  `arguments` becomes a compact JSON string, as `orjson.dumps` writes it
  (`{"order_id":"BF-318274"}`).
- Each `observation` turn becomes one `{"role": "tool", "content", "tool_call_id"}` message
  answering the next unanswered call of the preceding call turn, in call order.
- Tool-call ids in `support.jsonl` are 9 characters `[a-zA-Z0-9]` derived from the
  conversation id; a converter will make its own, so compare conversions modulo ids (same
  pairing of calls and tool messages).
- Weights: in the weight-0 conversations every `gpt` turn carries `weight` (0 on the early turn
  that must not be trained on, 1 on the later ones), copied as is onto the assistant message;
  tool-call turns and all other conversations carry no weight.
- Three conversations end on an assistant tool call (valid for the platform); all others end
  on an assistant reply.
- Alpaca: the user message is `instruction`, then a newline and `input` when `input` is not
  empty (`"\\n".join`, as LLaMA-Factory does; `input` holds pasted details such as an order
  number or a router model).
- CSV: `customer_message` is that full user message, `agent_reply` the answer, `persona` the
  system prompt, empty when there is none; `ticket_subject` is not mapped.
"""


def write_readme(conversations: list[Conversation]) -> None:
    text = DATA_README.replace("@MIX@", mix(conversations))
    write(DATA / "README.md", text.encode("utf-8"))


# --------------------------------------------------------------------------------------------
# Self-check: the rules of docs/data.md over the written files, and their consistency.
# --------------------------------------------------------------------------------------------

ROLES = ("system", "user", "assistant", "tool")
NEXT_ROLES = {
    "user": ("user", "assistant"),
    "assistant": ("assistant", "user", "tool"),
    "tool": ("tool", "assistant", "user"),
}
CALL_ID = re.compile(r"^[a-zA-Z0-9]{9}$")
FUNCTION_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
SPECIAL_TOKENS = re.compile(
    r"<s>|</s>|\[/?INST\]|\[TOOL_CALLS\]|\[/?AVAILABLE_TOOLS\]|\[/?TOOL_RESULTS\]|<\|[^|]*\|>"
)
JSON_TYPES = ("object", "array", "string", "number", "integer", "boolean", "null")
RECORD_KEYS = ("messages", "tools")
MESSAGE_KEYS = ("role", "content", "tool_calls", "tool_call_id", "weight", "name")


def reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def schema_ok(schema: Any) -> bool:
    """A function's ``parameters``: an object schema whose properties all have a known type."""
    if not isinstance(schema, dict) or schema.get("type") != "object":
        return False
    properties = schema.get("properties", {})
    if not isinstance(properties, dict):
        return False
    typed = all(isinstance(p, dict) and p.get("type") in JSON_TYPES for p in properties.values())
    required = schema.get("required", [])
    return typed and isinstance(required, list) and all(r in properties for r in required)


def tool_findings(tools: Any) -> tuple[set[str], dict[str, Any]]:
    """Findings on the ``tools`` list, and the declared functions by name."""
    if tools is None:
        return set(), {}
    if not isinstance(tools, list):
        return {"tool"}, {}
    found: set[str] = set()
    declared: dict[str, Any] = {}
    for tool in tools:
        function = tool.get("function") if isinstance(tool, dict) else None
        if not isinstance(function, dict) or tool.get("type") != "function":
            found.add("tool")
            continue
        name = function.get("name")
        described = isinstance(function.get("description"), str)
        if (
            isinstance(name, str)
            and FUNCTION_NAME.match(name)
            and described
            and schema_ok(function.get("parameters"))
        ):
            declared[name] = function["parameters"]
        else:
            found.add("tool")
    return found, declared


def call_findings(calls: Any, declared: dict[str, Any]) -> set[str]:
    if not isinstance(calls, list):
        return {"tool"}
    found: set[str] = set()
    for call in calls:
        function = call.get("function") if isinstance(call, dict) else None
        if not isinstance(call, dict) or not CALL_ID.match(str(call.get("id", ""))):
            found.add("tool")
        if not isinstance(function, dict) or not isinstance(function.get("arguments"), str):
            found.add("tool")
            continue
        if function.get("name") not in declared:
            found.add("tool")
        try:
            json.loads(function["arguments"])
        except ValueError:
            found.add("tool")
    return found


def message_findings(message: dict[str, Any], declared: dict[str, Any]) -> set[str]:
    found: set[str] = set()
    role, content = message.get("role"), message.get("content")
    calls = message.get("tool_calls")
    if role not in ROLES:
        found.add("role")
    if any(key not in MESSAGE_KEYS for key in message):
        found.add("content")
    if (content is None and not calls) or (content is not None and not isinstance(content, str)):
        found.add("schema")
    elif isinstance(content, str) and SPECIAL_TOKENS.search(content):
        found.add("special_token")
    if isinstance(content, str) and not content.strip() and role != "assistant":
        found.add("content")
    if role == "assistant":
        weight = message.get("weight", 1)
        if isinstance(weight, bool) or weight not in (0, 1):
            found.add("weight")
        if calls:
            found |= call_findings(calls, declared)
            if content:
                found.add("tool")
        elif content == "":
            found.add("structure")
    if role == "tool" and not CALL_ID.match(str(message.get("tool_call_id", ""))):
        found.add("tool")
    return found


def pairing_findings(turns: list[dict[str, Any]]) -> set[str]:
    """Calls and tool responses pair up in number; tool_call_ids answer earlier calls."""
    found: set[str] = set()
    pending = 0
    known: set[str] = set()
    for message in turns:
        role = message.get("role")
        if role == "tool":
            if pending == 0:
                found.add("structure")
            pending = max(pending - 1, 0)
            if message.get("tool_call_id") not in known:
                found.add("tool")
            continue
        if pending:
            found.add("structure")
        calls = message.get("tool_calls") if role == "assistant" else None
        pending = len(calls) if isinstance(calls, list) else 0
        for call in calls if isinstance(calls, list) else []:
            if isinstance(call, dict):
                known.add(str(call.get("id")))
    return found


def structure_findings(messages: list[dict[str, Any]]) -> set[str]:
    found: set[str] = set()
    roles = [m.get("role") for m in messages]
    if roles.count("system") > 1:
        found.add("structure")
    elif "system" in roles[1:]:
        found.add("content")  # a system message that is not first (warning)
    turns = [m for m in messages if m.get("role") != "system"]
    if not turns:
        return found | {"structure"}
    order = [m.get("role") for m in turns]
    if order[-1] != "assistant":
        found.add("structure")
    for before, after in itertools.pairwise(order):
        if before in NEXT_ROLES and after in ROLES and after not in NEXT_ROLES[before]:
            found.add("structure")
    return found | pairing_findings(turns)


def conversation_key(messages: list[dict[str, Any]]) -> str:
    return " ".join(json.dumps(messages, ensure_ascii=False, sort_keys=True).split())


def line_findings(line: str, seen: dict[str, int], number: int) -> set[str]:
    """The categories docs/data.md says a validator reports on one line of an instruct file."""
    if not line.strip():
        return {"json"}
    try:
        record = json.loads(line, parse_constant=reject_constant)
    except ValueError:
        return {"json"}
    if not isinstance(record, dict):
        return {"not_object"}
    messages = record.get("messages")
    if not isinstance(messages, list):
        return {"schema"}
    if not all(isinstance(m, dict) for m in messages):
        return {"schema"}
    found, declared = tool_findings(record.get("tools"))
    if any(key not in RECORD_KEYS for key in record):
        found.add("content")
    for message in messages:
        found |= message_findings(message, declared)
    found |= structure_findings(messages)
    key = conversation_key(messages)
    if key in seen:
        found.add("duplicate")
    seen.setdefault(key, number)
    return found


def arguments_match(arguments: dict[str, Any], schema: dict[str, Any]) -> bool:
    """Arguments carry every required key, no unknown key, and values of the declared type."""
    properties = schema["properties"]
    kinds: dict[str, type | tuple[type, ...]] = {
        "string": str,
        "number": (int, float),
        "integer": int,
        "boolean": bool,
    }
    if any(key not in arguments for key in schema.get("required", [])):
        return False
    for key, value in arguments.items():
        spec = properties.get(key)
        if spec is None or not isinstance(value, kinds.get(spec["type"], object)):
            return False
        if "enum" in spec and value not in spec["enum"]:
            return False
    return True


def texts(record: dict[str, Any]) -> list[str]:
    return [m["content"] for m in record["messages"] if isinstance(m.get("content"), str)]


def check_reference_record(record: dict[str, Any]) -> None:
    """Stricter than the validator, for our own reference file."""
    messages = record["messages"]
    assert messages[-1]["role"] == "assistant"
    declared = {t["function"]["name"]: t["function"]["parameters"] for t in record.get("tools", [])}
    ids = [c["id"] for m in messages for c in m.get("tool_calls", [])]
    assert len(ids) == len(set(ids)), "tool-call ids repeat"
    for message in messages:
        assert set(message) <= {"role", "content", "tool_calls", "tool_call_id", "weight"}
        for call in message.get("tool_calls", []):
            assert "content" not in message or message["content"] == ""
            function = call["function"]
            assert call["type"] == "function"
            assert arguments_match(json.loads(function["arguments"]), declared[function["name"]])
        if "weight" in message:
            assert message["role"] == "assistant" and type(message["weight"]) is int
        if message["role"] == "tool":
            json.loads(message["content"])
    used = {c["function"]["name"] for m in messages for c in m.get("tool_calls", [])}
    assert used <= set(declared), "a call to an undeclared tool"
    assert any(m.get("weight", 1) == 1 for m in messages if m["role"] == "assistant")
    for text in texts(record):
        assert text == text.strip() and "  " not in text, f"stray spaces: {text[:60]!r}"
        assert not SLOT.search(text), f"unfilled slot: {text[:80]!r}"


def read_lines(path: Path) -> list[str]:
    text = path.read_bytes().decode("utf-8")
    assert text.endswith("\n") and "\r" not in text
    return text[:-1].split("\n")


def check_mistral(path: Path) -> list[dict[str, Any]]:
    seen: dict[str, int] = {}
    records = []
    for number, line in enumerate(read_lines(path), start=1):
        found = line_findings(line, seen, number)
        assert not found, f"{path.name}:{number}: {sorted(found)}"
        record = json.loads(line)
        check_reference_record(record)
        records.append(record)
    return records


def anonymise_ids(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Replace call ids by their order of appearance, so two conversions compare equal."""
    order: dict[str, str] = {}
    text = json.dumps(messages, ensure_ascii=False)
    for match in re.finditer(r'"(?:id|tool_call_id)": "([a-zA-Z0-9]{9})"', text):
        order.setdefault(match.group(1), f"#{len(order)}")
    for real, placeholder in order.items():
        text = text.replace(f'"{real}"', f'"{placeholder}"')
    return list(json.loads(text))


def sharegpt_to_mistral(record: dict[str, Any]) -> dict[str, Any]:
    """An independent, minimal conversion of one ShareGPT record (ids are placeholders)."""
    messages: list[dict[str, Any]] = []
    if "system" in record:
        messages.append({"role": "system", "content": record["system"]})
    pending: list[str] = []
    count = 0
    for turn in record["conversations"]:
        kind, value = turn["from"], turn["value"]
        if kind == "human":
            messages.append({"role": "user", "content": value})
        elif kind == "gpt":
            messages.append({"role": "assistant", "content": value})
            if "weight" in turn:
                messages[-1]["weight"] = turn["weight"]
        elif kind == "function_call":
            parsed = json.loads(value)
            calls = parsed if isinstance(parsed, list) else [parsed]
            pending = [f"{count + i:09d}" for i in range(len(calls))]
            count += len(calls)
            tool_calls = [
                {
                    "id": cid,
                    "type": "function",
                    "function": {"name": c["name"], "arguments": arguments_json(c["arguments"])},
                }
                for cid, c in zip(pending, calls, strict=True)
            ]
            messages.append({"role": "assistant", "tool_calls": tool_calls})
        else:
            assert kind == "observation", kind
            messages.append({"role": "tool", "content": value, "tool_call_id": pending.pop(0)})
    converted: dict[str, Any] = {"messages": messages}
    if "tools" in record:
        converted["tools"] = json.loads(record["tools"])
    return converted


def check_sharegpt(path: Path, reference: list[dict[str, Any]]) -> list[dict[str, Any]]:
    records = [json.loads(line) for line in read_lines(path)]
    assert len(records) == len(reference)
    for record, expected in zip(records, reference, strict=True):
        assert set(record) <= {"id", "system", "tools", "conversations"}
        for turn in record["conversations"]:
            assert set(turn) <= {"from", "value", "weight"} and isinstance(turn["value"], str)
            assert "weight" not in turn or turn["from"] == "gpt"
        converted = sharegpt_to_mistral(record)
        assert converted.get("tools") == expected.get("tools"), record["id"]
        same = anonymise_ids(converted["messages"]) == anonymise_ids(expected["messages"])
        assert same, f"{record['id']} differs from support.jsonl"
    ends = Counter(r["conversations"][-1]["from"] for r in records)
    assert ends["gpt"] > 0.95 * len(records), ends
    return records


def single_turn(record: dict[str, Any]) -> dict[str, str] | None:
    """system/user/assistant of a one-exchange, tool-free reference conversation."""
    roles = [m["role"] for m in record["messages"]]
    if "tools" in record or roles not in (["user", "assistant"], ["system", "user", "assistant"]):
        return None
    by_role = {m["role"]: m["content"] for m in record["messages"]}
    return {
        "system": by_role.get("system", ""),
        "user": by_role["user"],
        "assistant": by_role["assistant"],
    }


def check_alpaca_and_csv(reference: list[dict[str, Any]]) -> tuple[int, int]:
    expected = [s for s in map(single_turn, reference) if s is not None]
    alpaca = json.loads((DATA / "support.alpaca.json").read_text(encoding="utf-8"))
    assert len(alpaca) == len(expected)
    for item, want in zip(alpaca, expected, strict=True):
        user = item["instruction"] + (f"\n{item['input']}" if item["input"] else "")
        got = {"system": item.get("system", ""), "user": user, "assistant": item["output"]}
        assert got == want, item["instruction"][:60]
    with (DATA / "support.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == len(expected) and tuple(rows[0]) == CSV_COLUMNS
    for row, want in zip(rows, expected, strict=True):
        got = {
            "system": row["persona"],
            "user": row["customer_message"],
            "assistant": row["agent_reply"],
        }
        assert got == want and row["ticket_subject"], row["customer_message"][:60]
    return len(alpaca), len(rows)


def check_broken() -> None:
    """Each line of broken.jsonl shows exactly the categories broken.README.md lists for it."""
    lines = read_lines(DATA / "broken.jsonl")
    assert len(lines) == len(BROKEN)
    seen: dict[str, int] = {}
    for number, (line, (_, expected, mistake)) in enumerate(zip(lines, BROKEN, strict=True), 1):
        found = line_findings(line, seen, number)
        want = {category for category, _ in expected}
        assert found == want, f"broken.jsonl:{number} ({mistake}): {sorted(found)}"
    readme = (DATA / "broken.README.md").read_text(encoding="utf-8")
    assert all(f"\n| {n} |" in readme for n in range(1, len(lines) + 1))


def check_pretrain() -> None:
    texts_seen: set[str] = set()
    for line in read_lines(DATA / "pretrain.jsonl"):
        record = json.loads(line)
        assert list(record) == ["text"] and isinstance(record["text"], str)
        text = record["text"]
        assert text.strip() and not SPECIAL_TOKENS.search(text) and text not in texts_seen
        texts_seen.add(text)


def self_check() -> None:
    reference = check_mistral(DATA / "support.jsonl")
    check_sharegpt(DATA / "support.sharegpt.jsonl", reference)
    alpaca, rows = check_alpaca_and_csv(reference)
    check_broken()
    check_pretrain()
    print(
        f"self-check passed: {len(reference)} conversations, {alpaca} alpaca records, "
        f"{rows} CSV rows, {len(BROKEN)} broken lines, {len(PRETRAIN)} pretrain lines"
    )


def main() -> None:
    rng = random.Random(SEED)
    conversations = generate(rng)
    write_support(conversations)
    write_broken()
    write_pretrain()
    write_readme(conversations)
    print(mix(conversations))
    self_check()


if __name__ == "__main__":
    main()
