"""``greenledger camera-sim``: post realistic Zhenshi and Hikvision plate pushes to a running server.

Plates come from the site's registry (registered, pending, black-listed) plus made-up unregistered
ones; every vehicle enters and, later, leaves; some pushes are repeated (a camera retry) and some
are offline replays (``isoffline=1``, older capture time). Snapshots are JPEGs drawn with Pillow
(a tiny fixed JPEG without it). Prints each push and the decision the server returned::

    greenledger camera-sim --url http://127.0.0.1:8000 --token glt_… --rate 2 --count 40 \\
        --camera demo-main-in --camera demo-main-out

Cameras and plates are read from this installation's database (run it where the server's data
lives). Against another server, name the camera and its protocol, and the plates if you like; the
database is then not read::

    greenledger camera-sim --url https://gate.example.com --token glt_… --camera east-in-zs \\
        --protocol zhenshi --direction in --plate 苏D60777 --plate 苏E40000:green --count 4

The payload builders are used by the tests and the benchmark too.
"""

import base64
import io
import json
import random
import time
import urllib.error
import urllib.request
import uuid
from datetime import datetime, timedelta, timezone as dt_timezone

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

# 1×1 grey baseline JPEG, used when Pillow is not installed
TINY_JPEG = base64.b64decode(
    "/9j/4AAQSkZJRgABAQEASABIAAD/2wBDAAMCAgICAgMCAgIDAwMDBAYEBAQEBAgGBgUGCQgKCgkICQkKDA8MCgsOCwkJDRENDg8QEBEQCgwS"
    "ExIQEw8QEBD/yQALCAABAAEBAREA/8wABgAQEAX/2gAIAQEAAD8A0s8g/9k=")
ZHENSHI_COLOR = {"blue": 1, "yellow": 2, "white": 3, "black": 4, "green": 5, "yellow_green": 6, "unknown": 0}
HIK_COLOR = {"blue": "blue", "yellow": "yellow", "white": "white", "black": "black", "green": "green",
             "yellow_green": "yellowGreen", "unknown": "unknown"}
UNREGISTERED = ["冀B7K2Q9", "鲁Q5M823", "豫A8H3L2", "晋C66N01", "皖K2D7V8"]


def snapshot_jpeg(text="GL", size=(320, 180)):
    """A JPEG snapshot with ``text`` on it (Pillow), else a tiny valid JPEG."""
    try:
        from PIL import Image, ImageDraw
    except ImportError:
        return TINY_JPEG
    image = Image.new("RGB", size, (40, 60, 90))
    draw = ImageDraw.Draw(image)
    draw.rectangle([size[0] // 4, size[1] // 3, size[0] * 3 // 4, size[1] * 2 // 3], fill=(230, 190, 40))
    draw.text((size[0] // 4 + 8, size[1] // 2 - 6), text.encode("ascii", "replace").decode(), fill=(0, 0, 0))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=60)
    return buffer.getvalue()


def zhenshi_payload(plate, *, plate_color="yellow", when=None, plate_id=1, serial="SIM-ZS-1", confidence=96,
                    offline=False, images=True):
    """(body bytes, content type) of a Zhenshi IVS push."""
    when = when or datetime.now(dt_timezone.utc)
    result = {"license": plate or "_无_", "colorType": ZHENSHI_COLOR.get(plate_color, 0), "type": 3,
              "confidence": confidence, "triggerType": 8, "direction": 4, "plateid": plate_id,
              "isoffline": 1 if offline else 0,
              "timeStamp": {"Timeval": {"sec": int(when.timestamp()), "usec": 0}}}
    if images:
        scene, small = snapshot_jpeg(plate or "none"), snapshot_jpeg(plate or "none", (120, 40))
        result.update(imageFile=base64.b64encode(scene).decode(), imageFileLen=len(scene),
                      imageFragmentFile=base64.b64encode(small).decode(), imageFragmentFileLen=len(small))
    body = {"AlarmInfoPlate": {"channel": 0, "deviceName": "IVS", "ipaddr": "192.168.1.100", "serialno": serial,
                               "result": {"PlateResult": result}}}
    return json.dumps(body, ensure_ascii=False).encode("utf-8"), "application/json"


def hikvision_payload(plate, *, plate_color="yellow", when=None, confidence=92, images=True, boundary=None):
    """(body bytes, content type) of a Hikvision ISAPI ANPR multipart push."""
    when = (when or datetime.now(dt_timezone.utc)).astimezone(dt_timezone(timedelta(hours=8)))
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<EventNotificationAlert version="2.0" xmlns="http://www.hikvision.com/ver20/XMLSchema">'
        "<ipAddress>192.168.1.64</ipAddress><portNo>80</portNo><protocol>HTTP</protocol>"
        f"<channelID>1</channelID><dateTime>{when.isoformat(timespec='seconds')}</dateTime>"
        "<activePostCount>1</activePostCount><eventType>ANPR</eventType><eventState>active</eventState>"
        "<eventDescription>ANPR</eventDescription>"
        f"<ANPR><country>CN</country><licensePlate>{plate or '无车牌'}</licensePlate><line>1</line>"
        f"<direction>forward</direction><confidenceLevel>{confidence}</confidenceLevel><plateType>yellow</plateType>"
        f"<plateColor>{HIK_COLOR.get(plate_color, 'unknown')}</plateColor><vehicleType>truck</vehicleType>"
        "</ANPR></EventNotificationAlert>"
    ).encode("utf-8")
    boundary = boundary or f"----sim{uuid.uuid4().hex}"
    parts = [("anpr.xml", "application/xml", xml)]
    if images:
        parts += [("licensePlatePicture.jpg", "image/jpeg", snapshot_jpeg(plate or "none", (120, 40))),
                  ("detectionPicture.jpg", "image/jpeg", snapshot_jpeg(plate or "none"))]
    chunks = []
    for name, ctype, data in parts:
        chunks.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{name}"\r\n'
                      f"Content-Type: {ctype}\r\nContent-Length: {len(data)}\r\n\r\n".encode() + data + b"\r\n")
    chunks.append(f"--{boundary}--\r\n".encode())
    return b"".join(chunks), f"multipart/form-data; boundary={boundary}"


def post(url, body, content_type, timeout=10):
    """POST and return (status, reply bytes)."""
    request = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def describe_reply(protocol, status, reply):
    """A short summary of the server's reply: decision / barrier."""
    try:
        data = json.loads(reply.decode("utf-8"))
    except ValueError:
        return f"HTTP {status} {reply[:60].decode('utf-8', 'replace')}"
    if "Response_AlarmInfoPlate" in data:
        answer = data["Response_AlarmInfoPlate"]
        if "ContinuePushOffline" in answer:
            return f"HTTP {status} offline replay acknowledged (plateid {answer['ContinuePushOffline']['plateid']})"
        shown = ""
        if answer.get("serialData"):
            shown = base64.b64decode(answer["serialData"][0]["data"]).decode("gb18030", "replace")
        return f"HTTP {status} barrier {'OPEN' if answer.get('info') == 'ok' else 'shut'} {shown}"
    if "decision" in data:
        return f"HTTP {status} {data['decision']} {data['display']}"
    return f"HTTP {status} {data}"


class Simulation:
    """The plan of pushes: vehicles enter, later leave, with retries and offline replays mixed in."""

    def __init__(self, plates, cameras, count, seed=None):
        self.random = random.Random(seed)
        self.plates = plates or [(p, "yellow") for p in UNREGISTERED]
        self.cameras = cameras  # [(code, protocol, direction)]
        self.count = count
        self.plate_id = int(time.time()) % 100000 * 10
        self.started = datetime.now(dt_timezone.utc)

    def pushes(self):
        """Yield (camera code, protocol, body, content type, note)."""
        inside = []
        entries = [c for c in self.cameras if c[2] == "in"] or self.cameras
        exits = [c for c in self.cameras if c[2] == "out"] or self.cameras
        last = None
        for _ in range(self.count):
            roll = self.random.random()
            if last is not None and roll < 0.08:
                yield (*last[:4], "repeat (camera retry)")
                continue
            offline = roll > 0.93
            if inside and (roll < 0.45 or len(inside) > 6):
                plate, color = inside.pop(0)
                camera = self.random.choice(exits)
            else:
                plate, color = self.random.choice(self.plates)
                camera = self.random.choice(entries)
                inside.append((plate, color))
            last = (*self.build(camera, plate, color, offline), "offline replay" if offline else "")
            yield last

    def build(self, camera, plate, color, offline):
        code, protocol, _direction = camera
        self.plate_id += 1
        # Hikvision pushes carry whole seconds and no id: keep every simulated capture a second apart
        self.clock = max(datetime.now(dt_timezone.utc), getattr(self, "clock", self.started) + timedelta(seconds=1))
        when = self.clock - (timedelta(hours=2) if offline else timedelta(0))
        if protocol == "hikvision":
            body, ctype = hikvision_payload(plate, plate_color=color, when=when)
        else:
            body, ctype = zhenshi_payload(plate, plate_color=color, when=when, plate_id=self.plate_id,
                                          serial=f"SIM-{code}", offline=offline)
        return code, protocol, body, ctype


PROTOCOLS = {"zhenshi", "hikvision"}
PLATE_COLORS = set(ZHENSHI_COLOR)


def parse_plate(text):
    """(plate, colour) from ``PLATE`` or ``PLATE:COLOUR`` (colour codes as in ZHENSHI_COLOR)."""
    plate, _, color = text.partition(":")
    color = color or "yellow"
    if not plate.strip() or color not in PLATE_COLORS:
        colours = ", ".join(sorted(PLATE_COLORS))
        raise CommandError(f"--plate {text}: give PLATE or PLATE:COLOUR, COLOUR one of {colours}")
    return plate.strip(), color


def local_cameras(codes):
    """The active cameras of this installation (those named in ``codes``, or all)."""
    from greenledger.gate.models import Camera

    cameras = Camera.objects.select_related("lane__gate__site").filter(active=True)
    if codes:
        cameras = cameras.filter(code__in=codes)
    cameras = list(cameras)
    if not cameras:
        raise CommandError("no such active camera; name one with --camera CODE")
    return cameras


def site_plates(cameras):
    """Registered (any review state) and listed plates of the cameras' site, with the made-up ones."""
    from greenledger.gate.models import ListEntry, Vehicle

    site = cameras[0].site
    plates = list(Vehicle.objects.filter(site=site).values_list("plate", "plate_color")[:50])
    plates += [(p, "yellow") for p in ListEntry.objects.filter(site=site, kind="black").values_list(
        "plate", flat=True)[:10]]
    return plates + [(p, "yellow") for p in UNREGISTERED]


class Command(BaseCommand):
    help = "Post simulated Zhenshi / Hikvision plate pushes to a running GreenLedger server."

    def add_arguments(self, parser):
        parser.add_argument("--url", default="http://127.0.0.1:8000", help="server base URL")
        parser.add_argument("--token", required=True, help="camera API token of the cameras' site")
        parser.add_argument("--camera", action="append", dest="cameras", default=[],
                            help="camera code (repeat for several; default: every active camera)")
        parser.add_argument("--rate", type=float, default=1.0, help="pushes per second")
        parser.add_argument("--count", type=int, default=20, help="number of pushes")
        parser.add_argument("--seed", type=int, default=None)
        parser.add_argument("--protocol", choices=sorted(PROTOCOLS),
                            help="protocol of the --camera cameras: they and the plates are then not read from "
                                 "this installation's database (a remote server)")
        parser.add_argument("--direction", choices=["in", "out"], default="in",
                            help="lane direction of the --camera cameras with --protocol (default in)")
        parser.add_argument("--plate", action="append", dest="plates", default=[],
                            help="plate to send, PLATE or PLATE:COLOUR (repeat; default: the site's registry "
                                 "and made-up plates)")

    def handle(self, *args, **options):
        plates = [parse_plate(text) for text in options["plates"]]
        if options["protocol"]:
            if not options["cameras"]:
                raise CommandError("--protocol needs the camera codes: --camera CODE")
            cameras = [(code, options["protocol"], options["direction"]) for code in options["cameras"]]
        else:
            try:
                found = local_cameras(options["cameras"])
                plates = plates or site_plates(found)
            except DatabaseError as exc:
                raise CommandError(
                    f"cannot read the cameras from this installation's database ({exc}). Run camera-sim with the "
                    "server's GREENLEDGER_DATA_DIR / DATABASE_URL, or name the cameras: --camera CODE --protocol "
                    "zhenshi|hikvision [--direction in|out] [--plate PLATE]") from exc
            cameras = [(c.code, c.protocol, c.lane.direction) for c in found]
        plan = Simulation(plates, cameras, options["count"], options["seed"])
        base = options["url"].rstrip("/")
        interval = 1.0 / options["rate"] if options["rate"] > 0 else 0
        tally = {}
        for code, protocol, body, ctype, note in plan.pushes():
            started = time.monotonic()
            status, reply = post(f"{base}/api/gate/cameras/{code}/events?token={options['token']}", body, ctype)
            summary = describe_reply(protocol, status, reply)
            outcome = " ".join(summary.split(" ")[2:4])
            tally[outcome] = tally.get(outcome, 0) + 1
            self.stdout.write(f"{code:<24} {protocol:<9} {note:<20} → {summary}")
            time.sleep(max(0.0, interval - (time.monotonic() - started)))
        self.stdout.write(f"sent {options['count']} pushes: " + ", ".join(f"{k} × {v}" for k, v in sorted(tally.items())))
