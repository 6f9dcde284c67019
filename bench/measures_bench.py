"""Benchmark of the measure ledger (措施执行台账) at the size of one year of a large plant.

Usage (from the repository root)::

    .venv/bin/python bench/measures_bench.py                  # SQLite file in a temporary data dir
    .venv/bin/python bench/measures_bench.py --postgres       # PostgreSQL (own database)
    .venv/bin/python bench/measures_bench.py --quick          # 200,000 records: a smoke run

With ``--postgres`` the script creates its own database ``greenledger_bench_measures`` through the
admin URL (default ``postgres://postgres@127.0.0.1:5432/postgres``, or ``--admin-url`` /
``BENCH_POSTGRES_URL``) and drops it at the end; it never touches another database. Everything else
(signing key, SQLite file) lives in a temporary ``GREENLEDGER_DATA_DIR`` removed afterwards.
``--keep`` leaves the database (and data dir) in place and ``--reuse`` times an existing one
without loading it again, which is how index or query changes are tried against the same data.

What is loaded: one calendar year of a lithium-battery plant with 12 stages, 306 measures (20
continuous, the rest every N hours, per shift, daily, weekly, per batch and on event), 180
operators on three shifts, third-party contractors, and production batches flowing through the
nine production stages; ``--records`` execution records (default 2,000,000) with parameter values,
search text built exactly like ``services.search_text_for``, ~1 % anomalies (with their handling
events), ~2 % late entries (with approvals), outsourced work (with confirmations), corrections that
supersede the record they correct, ~2 % missed executions, and hourly status rows of the continuous
measures (20 × 8,760 h, with maintenance approvals and abnormal stops).

Loading: rows are written by COPY (PostgreSQL) or ``executemany`` (SQLite), one transaction per
day, and every ledger row is sealed in the evidence log in that same transaction, through the
bulk loader ``evidence.tree.append_leaves`` over the rows' canonical JSON *as re-read from the
database* (``evidence.canonical.rows``), the same bytes ``services.seal`` hashes; a signed
checkpoint is taken at the end and a sample of seals is re-checked. During the load the ledger
tables' secondary indexes are dropped and rebuilt afterwards from their own definitions (and on
PostgreSQL foreign-key triggers are skipped with ``session_replication_role = replica``): the
usual bulk-load practice; the schema is the migrated one when the timings start. ``--no-seal``
loads without sealing (faster, for quick experiments on queries only).

What is timed (warm, median of ``--runs``, default 5), each beside a bare ``SELECT count(*)``
over the same rows measured in the same run:

- the record list page as ``views.RecordListView`` runs it: ``RecordFilterSet(params,
  queryset=access.records_for(request)...order_by("-occurred_at")).qs``, the pager's ``count()``
  and the first page of 50, for a set of typical multi-dimensional queries;
- ``trace.batch_trace`` for a batch;
- ``compliance.compliance_report`` over the year and ``compliance.annual_summary`` (when the module
  exists).

``--explain`` prints the plans (``EXPLAIN ANALYZE`` / ``EXPLAIN QUERY PLAN``) of every SQL
statement the timed queries run; ``--only TEXT`` times only the queries whose label contains TEXT.

Candidate fixes are measured on the same data in the same run, then removed again:

- ``--what-if``: the indexes of ``what_if_statements`` (partial indexes for the anomaly / late /
  outsourced filters, a case-insensitive index for batch numbers), then every interactive query again;
- ``--what-if-search`` (PostgreSQL): a character-bigram column and GIN index (``BIGRAM_SQL``) and
  the keyword searches with the bigram condition added under each rule of ``BIGRAM_RULES``, timed
  interleaved with today's filter. It rewrites the table (minutes), so it runs last.
"""

import argparse
import datetime
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
import uuid
import zoneinfo
from decimal import Decimal
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BENCH_DB = "greenledger_bench_measures"
DEFAULT_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres"
NAMESPACE = uuid.UUID("0b6f0c55-93a4-4d59-8c57-1f3e0a2d7c41")
SITE_CODE = "bench-lithium"
TZ = zoneinfo.ZoneInfo("Asia/Shanghai")
UTC = datetime.UTC
INTERACTIVE_TARGET_MS = 300
COMPLIANCE_TARGET_MS = 10_000
LINES = "ABCDEFGH"  # production lines; a batch number is LC<yyyymmdd><line><seq>


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=None, help="execution records to load (default 2000000)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 200,000 records")
    parser.add_argument("--postgres", action="store_true", help="run on PostgreSQL instead of SQLite")
    parser.add_argument("--admin-url", default=os.environ.get("BENCH_POSTGRES_URL", DEFAULT_ADMIN_URL),
                        help="PostgreSQL URL used to create and drop the bench database")
    parser.add_argument("--year", type=int, default=2025, help="calendar year to load (default 2025)")
    parser.add_argument("--runs", type=int, default=5, help="timed runs per query (median reported)")
    parser.add_argument("--no-seal", action="store_true", help="load without sealing into the evidence log")
    parser.add_argument("--keep", action="store_true", help="keep the database and data dir afterwards")
    parser.add_argument("--reuse", action="store_true", help="time an existing bench database (see --keep)")
    parser.add_argument("--data-dir", help="data dir to use (SQLite file lives there); required with --reuse")
    parser.add_argument("--explain", action="store_true", help="print the plan of every timed statement")
    parser.add_argument("--only", help="time only the queries whose label contains this text")
    parser.add_argument("--what-if-search", action="store_true",
                        help="PostgreSQL: also time the keyword searches with a bigram index (BIGRAM_SQL), "
                             "then drop it")
    parser.add_argument("--what-if", action="store_true",
                        help="also time the interactive queries with the candidate indexes (WHAT_IF), then drop them")
    parser.add_argument("--src", default=str(REPO / "src"), help="package source to benchmark (a scratch copy)")
    parser.add_argument("--seed", type=int, default=20251231)
    args = parser.parse_args()
    if args.records is None:
        args.records = 200_000 if args.quick else 2_000_000
    if args.reuse and not args.data_dir:
        parser.error("--reuse needs --data-dir (the one --keep printed)")
    return args


def log(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# Environment -------------------------------------------------------------------------------


def prepare_environment(args, data_dir: Path):
    """Point settings at the data dir and, with --postgres, at the bench database."""
    os.environ["GREENLEDGER_DATA_DIR"] = str(data_dir)
    os.environ["GREENLEDGER_EVIDENCE_KEY"] = str(data_dir / "keys" / "bench-ed25519.pem")
    os.environ["DJANGO_SETTINGS_MODULE"] = "greenledger.settings"
    os.environ["CONN_MAX_AGE"] = "0"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    sys.path.insert(0, args.src)
    if not args.postgres:
        os.environ.pop("DATABASE_URL", None)
        return
    admin = postgres_url(args.admin_url)
    if not args.reuse:
        import psycopg

        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}"')
            conn.execute(f'CREATE DATABASE "{BENCH_DB}"')
    os.environ["DATABASE_URL"] = admin.rsplit("/", 1)[0] + "/" + BENCH_DB


def postgres_url(url):
    return url.replace("postgres://", "postgresql://", 1)


def drop_database(args):
    import psycopg
    from django.db import connections

    connections.close_all()
    with psycopg.connect(postgres_url(args.admin_url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}"')


# The plant ---------------------------------------------------------------------------------

# (code, name, kind, equipment names, named measures)
# named measure: (name, type, purpose, schedule, interval hours, equipment index or None, params, flags)
# param: (code, name, unit, low, high)
P_DUST = ("dust", "粉尘浓度", "mg/m³", 0, 4)
P_LEL = ("lel", "可燃气体浓度", "%LEL", 0, 10)
P_VOC = ("voc", "VOCs 浓度", "mg/m³", 0, 60)
P_ELEC = ("concentration", "电解液挥发浓度", "mg/m³", 0, 0.1)
P_DEW = ("dew_point", "露点", "°C", -50, -35)
P_TEMP = ("temperature", "温度", "°C", 18, 28)
P_HUM = ("humidity", "相对湿度", "%", 1, 10)
P_KWH = ("energy", "电耗", "kWh", 50, 400)
P_RATE = ("pass_rate", "合格率", "%", 98, 100)
P_REUSE = ("reuse_rate", "回用率", "%", 70, 100)

STAGES = [
    ("mixing", "配料搅拌", "stage",
     ["正极双行星搅拌机 1#", "正极双行星搅拌机 2#", "负极双行星搅拌机 1#", "负极双行星搅拌机 2#", "投料间粉尘收集器", "真空泵组"], [
         ("投料间粉尘收集器运行", "equipment", "both", "continuous", None, 4, [], ""),
         ("搅拌罐压力实时监测", "equipment", "safety", "continuous", None, 0, [], ""),
         ("投料间粉尘浓度检测", "inspection", "safety", "every_n_hours", 2, None, [P_DUST], ""),
         ("正极浆料固含量检测", "inspection", "reduction", "per_batch", None, 0, [("solid", "固含量", "%", 60, 75)], ""),
         ("真空泵组节能运行", "equipment", "reduction", "every_n_hours", 4, 5, [P_KWH], ""),
         ("NMP 溶剂配比确认", "operation", "both", "per_batch", None, 0, [("nmp", "NMP 用量", "kg", 80, 140)], ""),
         ("配料间防静电检查", "inspection", "safety", "daily", None, None, [], ""),
         ("搅拌间可燃气体检测", "inspection", "safety", "every_n_hours", 2, None, [P_LEL], ""),
         ("配料区消防应急演练", "operation", "safety", "on_event", None, None, [], "drill"),
     ]),
    ("coating", "涂布", "stage",
     ["挤压式涂布机 1#", "挤压式涂布机 2#", "挤压式涂布机 3#", "挤压式涂布机 4#", "NMP 冷凝回收装置", "烘箱余热回收系统"], [
         ("NMP 冷凝回收", "equipment", "both", "every_n_hours", 4, 4,
          [("recovery", "回收率", "%", 95, 100), ("outlet_temp", "冷凝出口温度", "°C", 5, 25)], ""),
         ("烘箱余热回收系统运行", "equipment", "reduction", "continuous", None, 5, [], ""),
         ("涂布烘箱排风 VOCs 检测", "inspection", "both", "every_n_hours", 2, None, [P_VOC], ""),
         ("涂布机烘箱温度控制", "equipment", "both", "every_n_hours", 2, 0, [("oven_temp", "烘箱温度", "°C", 80, 130)], ""),
         ("涂布面密度检测", "inspection", "reduction", "per_batch", None, 0, [("density", "面密度", "g/m²", 180, 220)], ""),
         ("NMP 储罐呼吸阀检查", "inspection", "safety", "daily", None, 4, [], ""),
         ("涂布车间 NMP 浓度检测", "inspection", "safety", "every_n_hours", 2, None, [("nmp_ppm", "NMP 浓度", "ppm", 0, 10)], ""),
         ("涂布间通风系统运行", "equipment", "safety", "continuous", None, None, [], ""),
         ("溶剂泄漏应急演练", "operation", "safety", "on_event", None, None, [], "drill"),
     ]),
    ("rolling", "辊压分切", "stage",
     ["辊压机 1#", "辊压机 2#", "分切机 1#", "分切机 2#", "分切粉尘收集器", "辊压冷却水系统"], [
         ("分切粉尘收集器运行", "equipment", "both", "continuous", None, 4, [], ""),
         ("分切毛刺与粉尘检测", "inspection", "safety", "per_batch", None, 2, [("burr", "毛刺高度", "μm", 0, 12)], ""),
         ("辊压机能耗优化运行", "operation", "reduction", "per_shift", None, 0, [P_KWH], ""),
         ("分切区粉尘浓度检测", "inspection", "safety", "every_n_hours", 2, None, [P_DUST], ""),
         ("辊压冷却水循环利用", "equipment", "reduction", "daily", None, 5, [P_REUSE], ""),
         ("辊压机安全光栅功能检查", "inspection", "safety", "per_shift", None, 0, [], ""),
         ("极片边角料回收称重", "operation", "reduction", "daily", None, None, [("scrap", "边角料", "kg", 50, 400)], ""),
         ("辊压区机械伤害隐患排查", "inspection", "safety", "weekly", None, None, [], ""),
     ]),
    ("winding", "卷绕", "stage",
     ["卷绕机 1#", "卷绕机 2#", "卷绕机 3#", "卷绕机 4#", "叠片机 1#", "卷绕间除湿机"], [
         ("卷绕间除湿机变频运行", "equipment", "reduction", "continuous", None, 5, [], ""),
         ("卷绕间露点检测", "inspection", "safety", "every_n_hours", 2, None, [P_DEW], ""),
         ("卷绕对齐度抽检", "inspection", "safety", "per_batch", None, 0, [("overhang", "极片错位", "mm", 0, 0.5)], ""),
         ("卷绕机待机休眠节能", "operation", "reduction", "per_shift", None, 0, [P_KWH], ""),
         ("隔膜边角料回收", "operation", "reduction", "daily", None, None, [("scrap", "回收量", "kg", 10, 80)], ""),
         ("卷绕区静电防护检查", "inspection", "safety", "per_shift", None, None, [], ""),
         ("卷绕间温湿度检测", "inspection", "safety", "every_n_hours", 4, None, [P_TEMP, P_HUM], ""),
     ]),
    ("assembly", "电芯封装", "stage",
     ["激光焊接机 1#", "激光焊接机 2#", "真空封口机", "氦检漏仪", "干燥房通风变频风机", "热压整形机"], [
         ("封装设备能耗优化", "operation", "reduction", "per_shift", None, 2, [P_KWH], ""),
         ("封装密封性检测", "inspection", "safety", "per_batch", None, 3,
          [P_RATE, ("pressure", "检测压力", "kPa", 80, 120)], ""),
         ("干燥房通风系统变频运行", "equipment", "both", "continuous", None, 4, [], ""),
         ("激光焊接质量抽检", "inspection", "both", "per_shift", None, 0,
          [("samples", "抽检数", "个", 5, 50), ("defects", "不良数", "个", 0, 1)], ""),
         ("封装区电解液挥发浓度检测", "inspection", "safety", "every_n_hours", 2, None, [P_ELEC], ""),
         ("激光焊接烟尘净化器运行", "equipment", "safety", "continuous", None, 1, [], ""),
         ("封口真空度检测", "inspection", "safety", "per_batch", None, 2, [("vacuum", "封口真空度", "kPa", -98, -90)], ""),
         ("安全减排巡检", "operation", "both", "per_shift", None, None, [], "patrol"),
         ("封装区消防应急演练", "operation", "safety", "on_event", None, None, [], "drill"),
     ]),
    ("filling", "注液", "stage",
     ["注液机（低VOC电解液）1#", "注液机（低VOC电解液）2#", "电解液储罐区", "注液间排风系统", "真空静置箱", "称重复检机"], [
         ("使用低挥发性电解液", "operation", "reduction", "per_batch", None, 0,
          [("dosage", "用量", "kg", 100, 500), ("voc", "VOC 含量", "g/L", 0, 50)], ""),
         ("电解液挥发浓度检测", "inspection", "safety", "every_n_hours", 2, None, [P_ELEC], ""),
         ("注液间排风系统运行", "equipment", "safety", "continuous", None, 3, [], ""),
         ("电解液储罐泄漏检测", "inspection", "safety", "every_n_hours", 4, 2, [P_LEL], ""),
         ("注液量称重检测", "inspection", "reduction", "per_batch", None, 5, [("weight", "注液量", "g", 38, 42)], ""),
         ("电解液废液回收", "operation", "both", "daily", None, 2, [("waste", "废液量", "kg", 5, 60)], ""),
         ("注液间露点检测", "inspection", "safety", "every_n_hours", 2, None, [P_DEW], ""),
         ("电解液泄漏应急演练", "operation", "safety", "on_event", None, None, [], "drill"),
     ]),
    ("formation", "化成测试", "stage",
     ["能量回馈化成柜 1#", "能量回馈化成柜 2#", "能量回馈化成柜 3#", "化成区热失控监测与消防系统", "化成废气收集装置", "化成区空调"], [
         ("化成柜电能回馈装置启用", "equipment", "reduction", "daily", None, 0, [("recovered", "回馈电量", "kWh", 500, 3000)], ""),
         ("过充保护装置定期校验", "inspection", "safety", "weekly", None, 0, [("channels_ok", "合格通道数", "个", 512, 512)], ""),
         ("化成区热失控监测系统运行", "equipment", "safety", "continuous", None, 3, [], ""),
         ("化成废气收集装置运行", "equipment", "both", "continuous", None, 4, [], ""),
         ("化成区温度与烟感巡检", "inspection", "safety", "every_n_hours", 1, None, [P_TEMP], ""),
         ("化成电耗记录", "equipment", "reduction", "per_batch", None, 1, [("energy", "化成电耗", "kWh", 20, 60)], ""),
         ("化成区消防应急演练", "operation", "safety", "on_event", None, None, [], "drill"),
         ("化成区空调节能运行", "equipment", "reduction", "continuous", None, 5, [], ""),
     ]),
    ("grading", "分容老化", "stage",
     ["分容柜 1#", "分容柜 2#", "高温老化房", "常温静置库", "OCV 测试机", "分选机"], [
         ("高温老化房温度监测", "equipment", "safety", "continuous", None, 2, [], ""),
         ("分容柜能量回馈运行", "equipment", "reduction", "per_batch", None, 0, [("recovered", "回馈电量", "kWh", 10, 40)], ""),
         ("老化房烟雾探测巡检", "inspection", "safety", "every_n_hours", 2, 2, [], ""),
         ("不良电芯隔离处置", "operation", "safety", "on_event", None, 5, [("cells", "隔离电芯数", "个", 0, 50)], ""),
         ("分容区消防设施检查", "inspection", "safety", "daily", None, None, [], ""),
         ("静置库温湿度检测", "inspection", "safety", "every_n_hours", 4, 3, [P_TEMP, P_HUM], ""),
     ]),
    ("pack", "模组PACK", "stage",
     ["模组激光焊接机", "模组涂胶机", "EOL 测试台", "气密性测试仪", "模组拧紧机", "打包线"], [
         ("模组气密性检测", "inspection", "safety", "per_batch", None, 3, [("leak", "泄漏率", "Pa/min", 0, 50)], ""),
         ("涂胶废气收集运行", "equipment", "both", "continuous", None, 1, [], ""),
         ("模组焊接烟尘收集运行", "equipment", "safety", "continuous", None, 0, [], ""),
         ("EOL 绝缘耐压检测", "inspection", "safety", "per_batch", None, 2, [("insulation", "绝缘电阻", "MΩ", 100, 5000)], ""),
         ("模组拧紧扭矩复核", "inspection", "safety", "per_batch", None, 4, [("torque", "扭矩", "N·m", 4, 6)], ""),
         ("包装材料循环使用", "operation", "reduction", "daily", None, 5, [P_REUSE], ""),
     ]),
    ("utilities", "动力站", "utility",
     ["变频螺杆空压机", "冷水机组", "天然气蒸汽锅炉", "屋顶分布式光伏 2 MWp", "配电房", "纯水制备系统"], [
         ("锅炉低氮燃烧运行", "equipment", "both", "continuous", None, 2, [], ""),
         ("冷水机组群控节能运行", "equipment", "reduction", "continuous", None, 1, [], ""),
         ("空压机变频运行", "equipment", "reduction", "daily", None, 0, [("pressure", "管网压力", "MPa", 0.55, 0.7)], ""),
         ("屋顶光伏发电量记录", "equipment", "reduction", "daily", None, 3, [("generation", "发电量", "kWh", 2000, 12000)], ""),
         ("锅炉房天然气泄漏检测", "inspection", "safety", "every_n_hours", 2, 2, [P_LEL], ""),
         ("压力容器安全阀校验", "inspection", "safety", "weekly", None, 2, [], ""),
         ("配电房红外测温巡检", "inspection", "safety", "per_shift", None, 4, [("hotspot", "最高温度", "°C", 20, 70)], ""),
     ]),
    ("environment", "环保设施", "utility",
     ["RTO 蓄热焚烧炉", "活性炭吸附装置", "污水处理站", "废气在线监测站房", "雨污切换阀", "事故应急池"], [
         ("RTO 蓄热焚烧炉运行", "equipment", "both", "continuous", None, 0, [], "outsourced"),
         ("活性炭吸附装置运行", "equipment", "reduction", "continuous", None, 1, [], ""),
         ("污水处理站运行", "equipment", "both", "continuous", None, 2, [], "outsourced"),
         ("废气排放口 VOCs 在线监测比对", "inspection", "both", "every_n_hours", 4, 3, [P_VOC], "outsourced"),
         ("活性炭更换", "operation", "both", "on_event", None, 1, [("carbon", "更换量", "kg", 200, 2000)], "outsourced"),
         ("雨污切换阀检查", "inspection", "safety", "daily", None, 4, [], ""),
         ("污水排放口 COD 检测", "inspection", "both", "daily", None, 2, [("cod", "COD", "mg/L", 0, 500)], "outsourced"),
     ]),
    ("hazwaste", "危废仓库", "utility",
     ["危废暂存库", "废电解液收集桶区", "废活性炭暂存区", "废 NMP 储罐", "防渗漏托盘区", "危废转运车辆"], [
         ("危废暂存库巡检", "inspection", "safety", "per_shift", None, 0, [], ""),
         ("危废出入库称重登记", "operation", "both", "daily", None, 0, [("weight", "出入库量", "kg", 10, 2000)], "outsourced"),
         ("废电解液收集桶密封检查", "inspection", "safety", "per_shift", None, 1, [], ""),
         ("危废库可燃气体检测", "inspection", "safety", "every_n_hours", 4, 0, [P_LEL], ""),
         ("危废转运联单核对", "operation", "safety", "on_event", None, 5, [], "outsourced"),
         ("防渗漏托盘检查", "inspection", "safety", "weekly", None, 4, [], ""),
     ]),
]

# Three measures per piece of equipment besides the named ones: (suffix, type, purpose, schedule, interval, params)
PRODUCTION_GENERIC = [
    ("运行参数点检", "inspection", "safety", "per_shift", None, [("temp", "轴承温度", "°C", 20, 70)]),
    ("工艺参数确认", "operation", "both", "per_batch", None, [("energy", "批次电耗", "kWh", 5, 40)]),
    ("润滑紧固保养", "operation", "safety", "weekly", None, []),
]
UTILITY_GENERIC = [
    ("巡检", "inspection", "safety", "per_shift", None, []),
    ("运行记录", "equipment", "reduction", "every_n_hours", 4, [("load", "负荷率", "%", 30, 95)]),
    ("维护保养", "operation", "safety", "weekly", None, []),
]

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
GIVEN = ["伟", "芳", "娜", "敏", "静", "磊", "洋", "勇", "军", "杰", "涛", "明", "超", "霞", "平", "刚", "强", "辉",
         "晨", "浩", "宇", "婷", "鹏", "建华", "海燕", "志强", "丽娟", "文博", "子涵", "国庆", "春梅"]
REMARKS_OK = ["", "", "", "现场正常", "运行正常", "参数正常", "已按规程操作", "设备状态良好", "无泄漏", "记录完整"]
LATE_REASONS = ["夜班交接后补录，纸质记录为据", "终端离线，网络恢复后同步", "现场网络中断，事后补录", "巡检任务紧急，事后补录"]
HANDLING = ["暂停作业，通知班组长复核", "立即停机检查，隔离现场", "切换备用设备，通知维修", "加强通风，疏散无关人员"]
CORRECTIVE = ["更换密封件并复测", "校准传感器，增加点检频次", "维修后试运行合格", "调整工艺参数并培训操作人员"]
RESULTS = ["复测合格，恢复生产", "维修完成，运行正常", "隔离处置完毕，无次生影响"]


class Plant:
    """The master data of the bench plant, created through the ORM (small), plus fast lookups."""

    def __init__(self, year, rng):
        self.year = year
        self.rng = rng

    def create(self):
        from django.contrib.auth import get_user_model
        from django.contrib.auth.models import Group

        from greenledger.core.models import Enterprise, Equipment, Person, Site, Workshop
        from greenledger.measures.models import (
            ChecklistItem,
            ChecklistTemplate,
            ContractorAssignment,
            Measure,
            MeasureParameter,
            Shift,
        )

        user_model = get_user_model()
        enterprise = Enterprise.objects.create(name="宁川新能源科技（常州）有限公司")
        site = Site.objects.create(enterprise=enterprise, code=SITE_CODE, name="常州锂电池电芯与PACK基地",
                                   industry="lithium")
        Site.objects.create(enterprise=enterprise, code="bench-other", name="溧阳锂电池二期（无记录）", industry="lithium")
        for name, hour in (("夜班", 0), ("早班", 8), ("中班", 16)):
            Shift.objects.create(site=site, name=name, start=datetime.time(hour), hours=8)
        drill = ChecklistTemplate.objects.create(site=site, name="消防应急演练")
        patrol = ChecklistTemplate.objects.create(site=site, name="安全减排巡检表")
        for template, items in ((drill, ["报警与广播", "切断设备电源", "人员按路线疏散至集合点", "清点人数", "灭火器使用演示"]),
                                (patrol, ["电解液无泄漏", "通风系统在 30 Hz 运行", "防护用品佩戴正确", "废气处理装置运行",
                                          "消防通道畅通"])):
            for order, text in enumerate(items):
                ChecklistItem.objects.create(template=template, order=order, text=text)
        self.checklists = {"drill": (drill, list(drill.items.values_list("pk", flat=True))),
                           "patrol": (patrol, list(patrol.items.values_list("pk", flat=True)))}

        # people: 15 operators per stage (5 per shift), a shift leader per shift, 6 contractor staff
        names = iter(self.person_names(400))
        users = [user_model(username=f"op{n:03d}", password="!") for n in range(180)]
        users += [user_model(username=f"leader{n}", password="!") for n in range(3)]
        users += [user_model(username=f"contractor{n}", password="!") for n in range(6)]
        users += [user_model(username="safety", password="!")]
        user_model.objects.bulk_create(users)
        users = {u.username: u for u in user_model.objects.all()}
        group = {g.name: g for g in Group.objects.all()}
        group["operator"].user_set.add(*[users[f"op{n:03d}"] for n in range(180)])
        group["shift_leader"].user_set.add(*[users[f"leader{n}"] for n in range(3)])
        group["contractor"].user_set.add(*[users[f"contractor{n}"] for n in range(6)])
        group["safety_manager"].user_set.add(users["safety"])

        self.stages, self.equipment, self.operators = [], {}, {}
        for sequence, (code, name, kind, equipment, _named) in enumerate(STAGES, start=1):
            stage = Workshop.objects.create(site=site, code=code, name=name, sequence=sequence,
                                            kind="stage" if kind == "stage" else "utility")
            self.stages.append(stage)
            self.equipment[code] = [
                Equipment.objects.create(workshop=stage, code=f"{code.upper()}-{n + 1:02d}", name=eq_name,
                                         tag_id=f"NFC-{code.upper()}-{n + 1:02d}")
                for n, eq_name in enumerate(equipment)]
        people = []
        for index in range(180):
            stage = self.stages[index // 15]
            people.append(Person(user=users[f"op{index:03d}"], name=next(names), employee_no=f"E{10000 + index}",
                                 workshop=stage, title="操作工"))
        for index in range(3):
            people.append(Person(user=users[f"leader{index}"], name=next(names), employee_no=f"L{100 + index}",
                                 title="班组长"))
        for index in range(6):
            people.append(Person(user=users[f"contractor{index}"], name=next(names), title="运维工程师",
                                 company="江苏清源环境工程有限公司" if index < 3 else "常州安达危废处置有限公司"))
        people.append(Person(user=users["safety"], name=next(names), title="安全经理"))
        Person.objects.bulk_create(people)
        people = list(Person.objects.select_related("user").order_by("pk"))
        Person.sites.through.objects.bulk_create(
            [Person.sites.through(person_id=p.pk, site_id=site.pk) for p in people])
        for index, stage in enumerate(self.stages):
            # operators index*15 .. +15; shift s (0 night, 1 early, 2 late) gets five of them
            self.operators[stage.code] = [people[index * 15:(index + 1) * 15][s * 5:(s + 1) * 5] for s in range(3)]
        self.leaders = people[180:183]
        self.contractors = people[183:189]
        self.people = {p.pk: p for p in people}

        measures, params = [], []
        for stage, (code, _name, kind, _equipment, named) in zip(self.stages, STAGES):
            equipment = self.equipment[code]
            number = 0
            for (m_name, m_type, purpose, schedule, interval, eq_index, m_params, flags) in named:
                number += 1
                measures.append((stage, f"{code.upper()}-{number:02d}", m_name, m_type, purpose, schedule, interval,
                                 equipment[eq_index] if eq_index is not None else None, m_params, flags))
            generic = PRODUCTION_GENERIC if kind == "stage" else UTILITY_GENERIC
            for eq in equipment:
                for suffix, m_type, purpose, schedule, interval, m_params in generic:
                    number += 1
                    flags = "outsourced" if code == "environment" and suffix == "维护保养" else ""
                    measures.append((stage, f"{code.upper()}-{number:02d}", f"{eq.name}{suffix}", m_type, purpose,
                                     schedule, interval, eq, m_params, flags))
        objects = []
        for n, (stage, code, name, m_type, purpose, schedule, interval, eq, m_params, flags) in enumerate(measures):
            leader = self.leaders[n % 3]
            objects.append(Measure(
                site=site, stage=stage, code=code, name=name, measure_type=m_type, purpose=purpose,
                reduction_target="节能 −5 %" if purpose != "safety" else "",
                safety_target="零事故" if purpose != "reduction" else "",
                reduction_link=f"{name}：降低能耗与排放" if purpose != "safety" else "",
                safety_link=f"{name}：预防泄漏、火灾与职业伤害" if purpose != "reduction" else "",
                responsible_role="shift_leader", responsible=leader, equipment=eq, schedule=schedule,
                interval_hours=interval, weekday=n % 5 if schedule == "weekly" else None,
                due_time=datetime.time(9) if schedule in ("daily", "weekly") else None,
                grace_minutes=30 if interval in (1, 2) else 60, escalate_after_minutes=15,
                checklist=self.checklists[flags][0] if flags in ("drill", "patrol") else None,
                started_on=datetime.date(self.year - 1, 6, 1),
            ))
        Measure.objects.bulk_create(objects)
        stored = {m.code: m for m in Measure.objects.select_related("site", "stage", "equipment")}
        for stage, code, name, m_type, purpose, schedule, interval, eq, m_params, flags in measures:
            for order, (p_code, p_name, unit, low, high) in enumerate(m_params):
                params.append(MeasureParameter(measure=stored[code], order=order, code=p_code, name=p_name,
                                               unit=unit, min_value=Decimal(str(low)), max_value=Decimal(str(high)),
                                               required=True))
        MeasureParameter.objects.bulk_create(params)
        self.measures = [MeasureInfo(stored[code], m_params, flags, self) for
                         _stage, code, _n, _t, _p, _s, _i, _e, m_params, flags in measures]
        contractor_measures = [info.measure for info in self.measures if info.outsourced]
        start = datetime.datetime(self.year, 1, 1, tzinfo=TZ)
        for person in self.contractors:
            assignment = ContractorAssignment.objects.create(
                user=person.user, company_contact=self.leaders[0], valid_from=start - datetime.timedelta(days=30),
                valid_to=start + datetime.timedelta(days=400), work_description="环保设施第三方运维、危废转运")
            assignment.measures.add(*[m for m in contractor_measures
                                      if (m.stage.code == "environment") == (person.company.startswith("江苏"))])
        self.site = site
        self.viewer = users["safety"]
        return self

    def person_names(self, count):
        names, seen = [], set()
        while len(names) < count:
            name = self.rng.choice(SURNAMES) + self.rng.choice(GIVEN)
            if len(name) == 2 and self.rng.random() < 0.5:
                name += self.rng.choice(GIVEN[:18])
            if name not in seen:
                seen.add(name)
                names.append(name)
        return names


class MeasureInfo:
    """What the generator needs of one measure, precomputed (including its search-text head)."""

    def __init__(self, measure, params, flags, plant):
        self.measure = measure
        self.pk = measure.pk
        self.params = params
        self.outsourced = flags == "outsourced"
        self.checklist = plant.checklists.get(flags)
        self.schedule = measure.schedule
        self.interval = measure.interval_hours
        self.grace = measure.grace_minutes
        site = measure.site
        # the leading words of services.search_text_for (checked against it on a sample)
        head = [measure.code, measure.name, measure.stage.name, site.name, site.get_industry_display(),
                measure.get_measure_type_display(), measure.equipment.name if measure.equipment_id else ""]
        self.head = " ".join(w for w in head if w).lower()
        if self.outsourced:
            companies = "江苏" if measure.stage.code == "environment" else "常州"
            self.executors = [[p for p in plant.contractors if p.company.startswith(companies)]] * 3
        else:
            self.executors = plant.operators[measure.stage.code]


# Generation --------------------------------------------------------------------------------


class Generator:
    """Generates the year day by day as plain row dicts keyed by attname."""

    def __init__(self, plant, records, seed):
        from greenledger.measures import models

        self.plant = plant
        self.rng = random.Random(seed)
        self.models = models
        self.defaults = {m: static_defaults(m) for m in (
            models.ExecutionRecord, models.Anomaly, models.AnomalyEvent, models.HourlyStatus,
            models.LateEntryDecision, models.ContractorConfirmation, models.MissedExecution)}
        self.year_start = datetime.datetime(plant.year, 1, 1, tzinfo=TZ)
        self.year_end = datetime.datetime(plant.year + 1, 1, 1, tzinfo=TZ)
        self.days = (self.year_end - self.year_start).days
        self.batch_measures = {}
        for info in plant.measures:
            if info.schedule == "per_batch":
                self.batch_measures.setdefault(info.measure.stage.sequence, []).append(info)
        self.continuous = [info for info in plant.measures if info.schedule == "continuous"]
        self.plan(records)
        self.date_words = {}
        self.batch_examples = []

    def plan(self, records):
        """Batches per day and a keep probability so that about ``records`` records are written."""
        per_day = 0.0
        for info in self.plant.measures:
            per_day += {"every_n_hours": 24 / (info.interval or 4), "per_shift": 3, "daily": 1, "weekly": 1 / 7,
                        "on_event": 2 / 30}.get(info.schedule, 0)
        non_batch = per_day * self.days * 0.98  # 2 % of scheduled executions are missed
        batch_measures = sum(len(v) for v in self.batch_measures.values())
        needed = records / 1.003 - non_batch  # corrections add ~0.3 %
        self.batches_per_line = max(1, round(needed / (batch_measures * self.days * len(LINES))))
        planned = non_batch + self.batches_per_line * len(LINES) * batch_measures * self.days
        self.keep = min(1.0, records / 1.003 / planned)
        log(f"plan: {len(self.plant.measures)} measures ({len(self.continuous)} continuous, "
            f"{batch_measures} per batch), "
            f"{self.batches_per_line * len(LINES)} batches/day, keep {self.keep:.3f}")

    def uid(self, *parts):
        return uuid.uuid5(NAMESPACE, "/".join(map(str, parts)))

    def local_day(self, n):
        return self.year_start + datetime.timedelta(days=n)

    # slots -----------------------------------------------------------------------------

    def scheduled_slots(self, info, day):
        """(due time, executed time) of a scheduled measure on ``day`` (local midnight)."""
        rng = self.rng
        if info.schedule == "every_n_hours":
            for hour in range(0, 24, info.interval or 4):
                due = day + datetime.timedelta(hours=hour)
                yield due, due + datetime.timedelta(minutes=rng.randint(0, min(25, info.grace - 5)))
        elif info.schedule == "per_shift":
            for hour in (0, 8, 16):
                due = day + datetime.timedelta(hours=hour)
                yield due, due + datetime.timedelta(minutes=rng.randint(15, 100))
        elif info.schedule == "daily":
            due = day + datetime.timedelta(hours=9)
            yield due, due + datetime.timedelta(minutes=rng.randint(0, 45))
        elif info.schedule == "weekly":
            if day.weekday() == info.measure.weekday:
                due = day + datetime.timedelta(hours=9)
                yield due, due + datetime.timedelta(minutes=rng.randint(0, 55))
        elif info.schedule == "on_event" and rng.random() < 2 / 30:
            moment = day + datetime.timedelta(hours=rng.randint(9, 16), minutes=rng.randint(0, 59))
            yield None, moment

    def batch_slots(self, day):
        """(measure, time, batch number) of the batches started on ``day``, through every production stage."""
        per_line = self.batches_per_line
        for line_no, line in enumerate(LINES):
            for seq in range(per_line):
                start = day + datetime.timedelta(minutes=int(seq * 1440 / per_line) + line_no * 7)
                batch = f"LC{day:%Y%m%d}{line}{seq + 1:02d}"
                if (day.month, day.day, line, seq) in ((3, 15, "C", 0), (10, 15, "C", 0)):
                    self.batch_examples.append(batch)
                for sequence, infos in self.batch_measures.items():
                    at_stage = start + datetime.timedelta(minutes=(sequence - 1) * 45)
                    for info in infos:
                        moment = at_stage + datetime.timedelta(minutes=self.rng.randint(0, 40))
                        if moment < self.year_end:
                            yield info, moment, batch

    # one day ---------------------------------------------------------------------------

    def day(self, n):
        """Rows of every ledger table for local day ``n``, in sealing order."""
        day = self.local_day(n)
        out = {name: [] for name in ("records", "anomalies", "events", "decisions", "confirmations", "misses",
                                     "hourly")}
        rng, keep = self.rng, self.keep
        for info in self.plant.measures:
            if info.schedule in ("continuous", "per_batch"):
                continue
            for due, moment in self.scheduled_slots(info, day):
                if keep < 1 and rng.random() >= keep:
                    continue
                if due is not None and rng.random() < 0.02:
                    out["misses"].append(self.miss(info, due))
                    continue
                self.record(out, info, moment, "")
        for info, moment, batch in self.batch_slots(day):
            if keep < 1 and rng.random() >= keep:
                continue
            self.record(out, info, moment, batch)
        for info in self.continuous:
            self.hourly_day(out, info, day)
        return out

    def record(self, out, info, moment, batch):
        rng = self.rng
        models = self.models
        shift = moment.astimezone(TZ).hour // 8
        executor = rng.choice(info.executors[shift])
        roll = rng.random()
        anomaly = roll < 0.01
        late = 0.01 <= roll < 0.03
        occurred = moment.replace(second=0, microsecond=0).astimezone(UTC)
        row = dict(self.defaults[models.ExecutionRecord])
        row.update(
            id=self.uid("rec", info.pk, occurred.isoformat(), batch), measure_id=info.pk,
            site_id=self.plant.site.pk, stage_id=info.measure.stage_id, occurred_at=occurred,
            executor_id=executor.pk, entered_by_id=executor.user_id, equipment_id=info.measure.equipment_id,
            tag_scanned=f"NFC-{info.measure.stage.code.upper()}-{info.measure.equipment_id % 100:02d}"
            if info.measure.equipment_id and rng.random() < 0.6 else "",
            values=self.values(info, anomaly), batch_no=batch, outsourced=info.outsourced,
        )
        if info.measure.measure_type == "operation" or (info.measure.measure_type == "inspection" and info.params):
            row["compliant"] = not anomaly
        if info.checklist is not None:
            items = info.checklist[1]
            row["checklist"] = {"ticked": items[:-1] if anomaly else items,
                                "participants": [p.name for p in rng.sample(info.executors[shift], 3)]}
        row["remarks"] = "参数异常，已报班组长" if anomaly else rng.choice(REMARKS_OK)
        if late:
            entered = occurred + datetime.timedelta(hours=rng.randint(3, 10), minutes=rng.randint(0, 59))
            row.update(is_late=True, late_reason=rng.choice(LATE_REASONS), entered_at=entered, source="offline",
                       recorded_at=entered + datetime.timedelta(minutes=rng.randint(1, 30)))
            decision = rng.random()  # 85 % approved, 10 % rejected, 5 % still waiting
            if decision < 0.95:
                approved = decision < 0.85
                row["late_state"] = "approved" if approved else "rejected"
                out["decisions"].append(self.decision(row, approved))
            else:
                row["late_state"] = "pending"
        else:
            recorded = occurred + datetime.timedelta(minutes=rng.randint(0, 20), seconds=rng.randint(0, 59))
            row.update(recorded_at=recorded,
                       source=rng.choice(("web", "web", "one_tap", "api")))
        if info.outsourced:
            if rng.random() < 0.95:
                row["confirmation_state"] = "approved"
                out["confirmations"].append(self.confirmation(row))
            else:
                row["confirmation_state"] = "pending"
        row["search_text"] = self.search_text(info, row, executor)
        out["records"].append((info, row, executor))
        if anomaly:
            self.anomaly(out, info, row)
        elif not late and rng.random() < 0.003:
            self.correction(out, info, row, executor)

    def search_text(self, info, row, executor):
        """services.search_text_for, from precomputed parts (checked against it on a sample)."""
        local = row["occurred_at"].astimezone(TZ)
        key = (local.year, local.month, local.day)
        date_words = self.date_words.get(key)
        if date_words is None:
            date_words = self.date_words[key] = local.strftime("%Y%m%d %Y-%m-%d")
        tail = [w for w in (row["remarks"], row["batch_no"], row["late_reason"], date_words, executor.name) if w]
        return (info.head + " " + " ".join(tail).lower()) if info.head else " ".join(tail).lower()

    def values(self, info, anomaly):
        values = {}
        for index, (code, _name, _unit, low, high) in enumerate(info.params):
            span = high - low
            if anomaly and index == 0:
                value = high + span * self.rng.uniform(0.1, 0.5) if span else high + 1
            else:
                value = low + span * self.rng.uniform(0.1, 0.9)
            values[code] = round(value, 4 if span < 1 else 1)
        return values

    def correction(self, out, info, original, executor):
        """A later record that corrects this one (which becomes superseded)."""
        rng = self.rng
        original["superseded"] = True
        row = dict(original)
        recorded = original["recorded_at"] + datetime.timedelta(minutes=rng.randint(5, 25))
        row.update(id=self.uid("fix", original["id"]), corrects_id=original["id"], recorded_at=recorded,
                   correction_reason="原记录数值录入错误，按现场纸质记录更正", superseded=False, source="web",
                   values={k: round(v * 0.98, 4) for k, v in original["values"].items()})
        if (recorded - original["occurred_at"]).total_seconds() / 60 > info.grace:
            row.update(is_late=True, late_reason="更正录入错误", late_state="approved")
            out["decisions"].append(self.decision(row, True))
        row["search_text"] = self.search_text(info, row, executor)
        out["records"].append((info, row, executor))

    def anomaly(self, out, info, record):
        rng = self.rng
        measure = info.measure
        occurred = record["occurred_at"] + datetime.timedelta(minutes=rng.randint(0, 10))
        if info.params and info.measure.measure_type == "inspection":
            code, p_name, unit, low, high = info.params[0]
            symptom = f"{measure.name}：{p_name} {record['values'][code]} {unit} 超出范围 {low}–{high}"
        elif measure.measure_type == "operation":
            symptom = f"{measure.name}：未按规程完成，存在漏项"
        else:
            symptom = f"{measure.name}：设备运行参数异常，{rng.choice(['报警停机', '效率下降', '压力波动'])}"
        row = self.new_anomaly(info, occurred, symptom, record, key=record["id"])
        record["has_anomaly"] = True
        record["search_text"] = record["search_text"] + " 异常 " + symptom.lower()
        out["anomalies"].append((info, row))
        self.anomaly_life(out, info, row)

    def new_anomaly(self, info, occurred, symptom, record=None, key=None):
        rng = self.rng
        measure = info.measure
        row = dict(self.defaults[self.models.Anomaly])
        reporter = self.plant.people[record["executor_id"]].user_id if record else self.plant.leaders[0].user_id
        row.update(
            id=self.uid("anom", key or (info.pk, occurred.isoformat())), measure_id=info.pk, site_id=self.plant.site.pk,
            record_id=record["id"] if record else None, equipment_id=measure.equipment_id,
            batch_no=record["batch_no"] if record else "", occurred_at=occurred,
            recorded_at=occurred + datetime.timedelta(minutes=rng.randint(2, 30)), reported_by_id=reporter,
            symptom=symptom, immediate_handling=rng.choice(HANDLING),
            safety_impact="无人员伤害" if measure.purpose != "reduction" else "",
            deadline=occurred + datetime.timedelta(days=3), owner_id=measure.responsible_id,
        )
        if measure.purpose != "safety" and rng.random() < 0.4:
            if rng.random() < 0.5:
                quantity = Decimal(rng.randint(10, 120))
                row.update(extra_quantity=quantity, extra_unit="m³", extra_activity="天然气",
                           extra_co2_kg=(quantity * Decimal("2.1622")).quantize(Decimal("0.001")),
                           extra_co2_basis=f"{quantity} m³ × 2.1622 kgCO₂/m³（天然气）")
            else:
                quantity = Decimal(rng.randint(50, 900))
                row.update(extra_quantity=quantity, extra_unit="kWh", extra_activity="电力",
                           extra_co2_kg=(quantity * Decimal("0.5703")).quantize(Decimal("0.001")),
                           extra_co2_basis=f"{quantity} kWh × 0.5703 kgCO₂/kWh（全国电网平均）")
        return row

    def anomaly_life(self, out, info, row):
        """open → handling → closed, as AnomalyEvent rows; most close before their deadline."""
        rng = self.rng
        occurred = row["occurred_at"]
        age_days = (self.year_end.astimezone(UTC) - occurred).days
        fate = rng.random()
        if age_days < 10 and fate < 0.3:
            state = "open"
        elif age_days < 10 and fate < 0.6:
            state = "handling"
        else:
            state = "closed"
        leader = self.plant.leaders[rng.randrange(3)]
        if state == "open":
            row["search_text"] = anomaly_text(info.measure, row)
            return
        handling_at = occurred + datetime.timedelta(minutes=rng.randint(10, 90))
        out["events"].append(self.event(row, "handling", handling_at, leader, "已安排维修人员处理"))
        row["state"] = "handling"
        if state == "closed":
            late_close = rng.random() < 0.08
            closed_at = occurred + (datetime.timedelta(hours=rng.randint(80, 240)) if late_close
                                    else datetime.timedelta(hours=rng.randint(2, 60)))
            corrective, result = rng.choice(CORRECTIVE), rng.choice(RESULTS)
            event = self.event(row, "closed", closed_at, leader, result)
            event["corrective_action"] = corrective
            out["events"].append(event)
            row.update(state="closed", result=result, corrective_action=corrective, resolved_at=closed_at,
                       closed_at=closed_at)
        row["search_text"] = anomaly_text(info.measure, row)

    def event(self, anomaly, kind, at, leader, text):
        row = dict(self.defaults[self.models.AnomalyEvent])
        row.update(id=self.uid("evt", anomaly["id"], kind), anomaly_id=anomaly["id"], kind=kind, at=at,
                   by_id=leader.user_id, text=text)
        return row

    def decision(self, record, approved):
        rng = self.rng
        row = dict(self.defaults[self.models.LateEntryDecision])
        leader = self.plant.leaders[rng.randrange(3)]
        row.update(id=self.uid("dec", record["id"]), record_id=record["id"], approved=approved,
                   comment="核对纸质记录一致" if approved else "无佐证，不予认可", decided_by_id=leader.user_id,
                   decided_at=record["recorded_at"] + datetime.timedelta(hours=rng.randint(1, 8)))
        return row

    def confirmation(self, record):
        row = dict(self.defaults[self.models.ContractorConfirmation])
        row.update(id=self.uid("conf", record["id"]), record_id=record["id"], confirmed=True,
                   comment="现场核验，记录属实", confirmed_by_id=self.plant.leaders[0].user_id,
                   confirmed_at=record["recorded_at"] + datetime.timedelta(hours=self.rng.randint(1, 20)))
        return row

    def miss(self, info, due):
        row = dict(self.defaults[self.models.MissedExecution])
        due = due.astimezone(UTC)
        window_end = due + datetime.timedelta(minutes=info.grace)
        row.update(id=self.uid("miss", info.pk, due.isoformat()), measure_id=info.pk, due_at=due,
                   window_end=window_end, recorded_at=window_end + datetime.timedelta(minutes=1))
        return row

    def hourly_day(self, out, info, day):
        """24 hourly status rows; planned maintenance about once a quarter, abnormal stops about twice a year."""
        rng = self.rng
        maintenance = stop = None
        if rng.random() < 4 / 365:
            maintenance = (rng.randint(8, 14), rng.randint(4, 8))
        elif rng.random() < 2 / 365:
            stop = (rng.randint(0, 21), rng.randint(1, 3))
        for hour in range(24):
            start = (day + datetime.timedelta(hours=hour)).astimezone(UTC)
            status, approval, note = "running", "none", ""
            if maintenance and maintenance[0] <= hour < sum(maintenance):
                status, approval, note = "maintenance", "approved", "计划检修"
            elif stop and stop[0] <= hour < sum(stop):
                status, note = "stopped", "异常停机"
            row = dict(self.defaults[self.models.HourlyStatus])
            row.update(id=self.uid("hour", info.pk, start.isoformat()), measure_id=info.pk, hour=start,
                       status=status, source="telemetry", note=note, approval_state=approval,
                       recorded_at=start + datetime.timedelta(hours=1, seconds=rng.randint(5, 90)))
            out["hourly"].append((info, row))
            if status == "maintenance":
                decision = dict(self.defaults[self.models.LateEntryDecision])
                decision.update(id=self.uid("dec-h", row["id"]), hourly_id=row["id"], approved=True, comment="计划检修",
                                decided_by_id=self.plant.leaders[0].user_id, decided_at=row["recorded_at"])
                out["decisions"].append(decision)
            if stop and hour == stop[0]:
                anomaly = self.new_anomaly(info, start + datetime.timedelta(minutes=rng.randint(0, 40)),
                                           f"{info.measure.name}：异常停机，{rng.choice(['风机跳闸', '电机过热', '控制器故障'])}")
                out["anomalies"].append((info, anomaly))
                self.anomaly_life(out, info, anomaly)


def anomaly_text(measure, row):
    """services.anomaly_search_text over a row dict (checked against it on a sample)."""
    return " ".join(filter(None, [measure.name, measure.stage.name, row["symptom"], row["immediate_handling"],
                                  row["safety_impact"], row["result"], row["corrective_action"], row["batch_no"],
                                  "异常 anomaly"])).lower()


def static_defaults(model):
    """attname -> default for every concrete field (callable defaults other than containers left None)."""
    defaults = {}
    for field in model._meta.concrete_fields:
        if field.has_default() and not callable(field.default):
            defaults[field.attname] = field.default
        elif field.default in (dict, list):
            defaults[field.attname] = field.default()
        elif field.null:
            defaults[field.attname] = None
        elif field.blank and field.get_internal_type() in ("CharField", "TextField", "SlugField"):
            defaults[field.attname] = ""
        else:
            defaults[field.attname] = None
    return defaults


# Loading -------------------------------------------------------------------------------------


class Loader:
    """Writes row dicts with COPY (PostgreSQL) or executemany (SQLite), then seals them."""

    def __init__(self, connection, seal):
        self.connection = connection
        self.vendor = connection.vendor
        self.seal_rows = seal
        self.columns = {}
        self.sealed = 0
        self.seconds = {"generate": 0.0, "write": 0.0, "seal": 0.0, "seal_read": 0.0, "seal_append": 0.0}

    def plan(self, model):
        if model not in self.columns:
            fields = model._meta.concrete_fields
            adapters = []
            for field in fields:
                kind = field.get_internal_type()
                if kind == "ForeignKey":
                    kind = field.target_field.get_internal_type()
                adapters.append(self.adapter(kind))
            names = ", ".join(self.connection.ops.quote_name(f.column) for f in fields)
            table = self.connection.ops.quote_name(model._meta.db_table)
            if self.vendor == "postgresql":
                sql = f"COPY {table} ({names}) FROM STDIN"
            else:
                sql = f"INSERT INTO {table} ({names}) VALUES ({', '.join('%s' for _ in fields)})"
            self.columns[model] = ([f.attname for f in fields], adapters, sql)
        return self.columns[model]

    def adapter(self, kind):
        if kind == "JSONField":
            return lambda value: json.dumps(value, ensure_ascii=False)
        if self.vendor == "postgresql":
            return None
        if kind == "UUIDField":
            return lambda value: value.hex
        if kind == "DateTimeField":
            return lambda value: str(value.astimezone(UTC).replace(tzinfo=None))
        if kind == "DecimalField":
            return str
        return None

    def write(self, model, rows):
        if not rows:
            return
        attnames, adapters, sql = self.plan(model)
        pairs = list(zip(attnames, adapters))
        tuples = [tuple(row[a] if f is None or row[a] is None else f(row[a]) for a, f in pairs) for row in rows]
        with self.connection.cursor() as cursor:
            if self.vendor == "postgresql":
                with cursor.cursor.copy(sql) as copy:
                    for values in tuples:
                        copy.write_row(values)
            else:
                cursor.executemany(sql, tuples)

    def seal(self, model, rows, sealed_at):
        """Seal the rows just written: canonical JSON as re-read, bulk-appended to the evidence log."""
        from greenledger.evidence import canonical, merkle, tree

        if not rows or not self.seal_rows:
            return
        label = canonical.table_label(model)
        started = time.perf_counter()
        entries = []
        pks = [row["id"] for row in rows]
        for first in range(0, len(pks), 5000):
            chunk = pks[first:first + 5000]
            stored = {values["id"]: values for values in canonical.rows(model, pks=chunk)}
            for pk in chunk:
                entries.append((label, str(pk), merkle.leaf_hash(canonical.record_bytes(model, stored[pk]))))
        appending = time.perf_counter()
        tree.append_leaves(entries, sealed_at=sealed_at)
        self.seconds["seal_read"] += appending - started
        self.seconds["seal_append"] += time.perf_counter() - appending
        self.sealed += len(entries)


def secondary_indexes(connection, table):
    """(name, CREATE statement) of the indexes of ``table`` that no constraint owns."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
                "JOIN pg_class t ON t.oid = x.indrelid WHERE t.relname = %s "
                "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.oid)", [table])
        else:
            cursor.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = %s "
                           "AND sql IS NOT NULL", [table])
        return cursor.fetchall()


def load(args, plant, connection):
    """Generate and write the year, one transaction per day; return (generator, load stats)."""
    from django.db import transaction

    from greenledger.evidence import services as evidence
    from greenledger.measures import models
    from greenledger.measures.services import bigrams

    generator = Generator(plant, args.records, args.seed)
    loader = Loader(connection, seal=not args.no_seal)
    tables = [models.ExecutionRecord, models.Anomaly, models.AnomalyEvent, models.HourlyStatus,
              models.LateEntryDecision, models.ContractorConfirmation, models.MissedExecution]
    dropped = []
    with connection.cursor() as cursor:
        for model in tables:
            for name, sql in secondary_indexes(connection, model._meta.db_table):
                cursor.execute(f"DROP INDEX {connection.ops.quote_name(name)}")
                dropped.append((name, sql))
        if connection.vendor == "postgresql":
            cursor.execute("SET session_replication_role = replica")  # skip FK triggers: rows are consistent
            cursor.execute("SET synchronous_commit = off")
        else:
            cursor.execute("PRAGMA foreign_keys = OFF")
            cursor.execute("PRAGMA cache_size = -262144")
    started = time.perf_counter()
    order = [("records", models.ExecutionRecord), ("anomalies", models.Anomaly), ("events", models.AnomalyEvent),
             ("hourly", models.HourlyStatus), ("decisions", models.LateEntryDecision),
             ("confirmations", models.ContractorConfirmation), ("misses", models.MissedExecution)]
    counts = dict.fromkeys((name for name, _ in order), 0)
    for n in range(generator.days):
        t0 = time.perf_counter()
        out = generator.day(n)
        if n == 0:
            check_derived_text(out)
        rows = {"records": [r for _i, r, _e in out["records"]], "anomalies": [r for _i, r in out["anomalies"]],
                "hourly": [r for _i, r in out["hourly"]]}
        for row in rows["records"]:
            row["search_bigrams"] = bigrams(row["search_text"])  # as services.record_execution writes it
        t1 = time.perf_counter()
        sealed_at = (generator.local_day(n + 1) + datetime.timedelta(hours=1)).astimezone(UTC)
        with transaction.atomic():
            for name, model in order:
                loader.write(model, rows.get(name, out[name]))
            t2 = time.perf_counter()
            for name, model in order:
                loader.seal(model, rows.get(name, out[name]), sealed_at)
        t3 = time.perf_counter()
        loader.seconds["generate"] += t1 - t0
        loader.seconds["write"] += t2 - t1
        loader.seconds["seal"] += t3 - t2
        for name, _model in order:
            counts[name] += len(out[name])
        if n % 30 == 29 or n == generator.days - 1:
            log(f"day {n + 1}/{generator.days}: {counts['records']:,} records, {counts['hourly']:,} hourly, "
                f"{counts['anomalies']:,} anomalies, {loader.sealed:,} sealed "
                f"({time.perf_counter() - started:.0f} s)")
    t0 = time.perf_counter()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET session_replication_role = DEFAULT")
            cursor.execute("SET maintenance_work_mem = '512MB'")
        else:
            cursor.execute("PRAGMA foreign_keys = ON")
        for name, sql in dropped:
            cursor.execute(sql)
    index_seconds = time.perf_counter() - t0
    log(f"indexes rebuilt in {index_seconds:.0f} s")
    t0 = time.perf_counter()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            for model in tables + [models.Measure]:
                cursor.execute(f"VACUUM (ANALYZE) {connection.ops.quote_name(model._meta.db_table)}")
    else:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    analyze_seconds = time.perf_counter() - t0
    checkpoint = None
    if loader.sealed:
        checkpoint, _ = evidence.take_checkpoint()
    stats = {"counts": counts, "seconds": loader.seconds, "index_seconds": index_seconds,
             "analyze_seconds": analyze_seconds, "total_seconds": time.perf_counter() - started,
             "sealed": loader.sealed, "checkpoint": checkpoint,
             "batches_per_day": generator.batches_per_line * len(LINES)}
    return generator, stats


def check_derived_text(out):
    """The generator's search text equals what services would store (records and anomalies)."""
    from greenledger.measures import services
    from greenledger.measures.models import Anomaly

    for info, row, executor in out["records"][:300]:
        fields = {"occurred_at": row["occurred_at"], "remarks": row["remarks"], "batch_no": row["batch_no"],
                  "late_reason": row["late_reason"], "executor_name": executor.name}
        expected = services.search_text_for(info.measure, fields)
        text = row["search_text"]
        if row["has_anomaly"]:
            text = text.split(" 异常 ")[0]
        if text != expected:
            raise SystemExit(f"search text differs from services.search_text_for:\n{text}\n{expected}")
    for info, row in out["anomalies"][:50]:
        anomaly = Anomaly(measure=info.measure, **{k: v for k, v in row.items() if k not in ("measure_id",)})
        if services.anomaly_search_text(anomaly) != row["search_text"]:
            raise SystemExit("anomaly search text differs from services.anomaly_search_text")


def sanity_checks(generator, stats):
    """The ORM reads what was written; a sample of seals matches the rows as they read now."""
    from greenledger.evidence import canonical, merkle
    from greenledger.evidence import services as evidence
    from greenledger.measures.models import Anomaly, ExecutionRecord, HourlyStatus

    problems = []
    if ExecutionRecord.objects.count() != stats["counts"]["records"]:
        problems.append("record count differs")
    rng = random.Random(1)
    for model in (ExecutionRecord, HourlyStatus, Anomaly):
        pks = list(model.objects.values_list("pk", flat=True)[:2000])
        for pk in rng.sample(pks, min(100, len(pks))):
            obj = model.objects.get(pk=pk)
            if stats["sealed"]:
                leaf = evidence.leaf_of(obj)
                if leaf is None or bytes(leaf.leaf_hash) != merkle.leaf_hash(canonical.read_record(model, pk)):
                    problems.append(f"{model.__name__} {pk}: seal does not match")
                    break
    if problems:
        raise SystemExit("sanity checks failed: " + "; ".join(problems))


# Timing --------------------------------------------------------------------------------------


def median_ms(function, runs):
    """Warm-up once, then ``runs`` timed calls: (median ms, min ms, result of the last call)."""
    result = function()
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        result = function()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples), min(samples), result


def count_sql(table):
    from django.db import connection

    def run():
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT count(*) FROM {connection.ops.quote_name(table)}")
            return cursor.fetchone()[0]
    return run


class Request:
    """What access.records_for and the filter set read from a request."""

    def __init__(self, user):
        self.user = user
        self.auth = None
        self.GET = {}


def list_page(user, params):
    """The record list page's queries (views.RecordListView): filter set over the user's scope with the
    list's queryset and ordering, the pager's count, the first page of 50 rows."""
    from django.core.paginator import Paginator

    from greenledger.measures.access import records_for
    from greenledger.measures.filtersets import RecordFilterSet

    def run():
        request = Request(user)
        queryset = records_for(request).prefetch_related("measure__parameters").order_by("-occurred_at")
        filterset = RecordFilterSet(params, queryset=queryset, request=request)
        if not filterset.is_valid():
            raise SystemExit(f"filter {params} invalid: {filterset.errors}")
        paginator = Paginator(filterset.qs, 50)
        page = paginator.page(1)
        rows = [(r.occurred_at, r.measure.name, r.stage.name, r.executor.name, r.site.name,
                 r.equipment.name if r.equipment_id else "") for r in page.object_list]
        return paginator.count, len(rows)
    return run


def queries(plant, generator):
    """(label, filter params) of the list-page queries timed, as the UI sends them."""
    from django.db.models import Count

    from greenledger.core.models import Person
    from greenledger.measures.models import ExecutionRecord

    year = plant.year
    stage = {s.code: s for s in plant.stages}
    busiest = (ExecutionRecord.objects.filter(measure__measure_type="inspection").values("executor")
               .order_by().annotate(n=Count("id")).order_by("-n").first())
    executor = Person.objects.get(pk=busiest["executor"])
    measure = next(i.measure for i in plant.measures if i.measure.name == "封装密封性检测")
    month = (f"{year}-10-01", f"{year}-10-31")
    return [
        ("list, no filter (whole year, the page as it opens)", {}),
        ("stage 电芯封装 + October", {"stage": stage["assembly"].pk, "start": month[0], "end": month[1]}),
        ("measure 封装密封性检测 + Q4", {"measure": measure.pk, "start": f"{year}-10-01", "end": f"{year}-12-31"}),
        (f"measure type inspection + executor {executor.name} (whole year)",
         {"measure_type": "inspection", "executor": executor.pk}),
        ("anomaly only + October", {"anomaly": "true", "start": month[0], "end": month[1]}),
        ("anomaly only (whole year)", {"anomaly": "true"}),
        ("late only (whole year)", {"late": "true"}),
        ("outsourced only + October", {"outsourced": "true", "start": month[0], "end": month[1]}),
        ("q 封装 异常 + October", {"q": "封装 异常", "start": month[0], "end": month[1]}),
        ("q 封装 异常 (whole year)", {"q": "封装 异常"}),
        ("q 电解液 检测 + October", {"q": "电解液 检测", "start": month[0], "end": month[1]}),
        ("q 电解液 检测 (whole year)", {"q": "电解液 检测"}),
        (f"q 锂电池 封装 {year}10 异常", {"q": f"锂电池 封装 {year}10 异常"}),
        (f"batch {generator.batch_examples[-1]}", {"batch": generator.batch_examples[-1]}),
    ]


class Capture:
    """Collects the SQL statements run inside it (for --explain)."""

    def __init__(self):
        self.statements = []

    def __call__(self, execute, sql, params, many, context):
        self.statements.append((sql, params))
        return execute(sql, params, many, context)


def explain(function, label):
    from django.db import connection

    capture = Capture()
    with connection.execute_wrapper(capture):
        function()
    print(f"\n#### plan: {label}\n")
    for sql, params in capture.statements:
        if "measures_" not in sql:
            continue
        prefix = "EXPLAIN (ANALYZE, BUFFERS) " if connection.vendor == "postgresql" else "EXPLAIN QUERY PLAN "
        with connection.cursor() as cursor:
            cursor.execute(prefix + sql, params)
            plan = cursor.fetchall()
        print("```\n" + sql[:400] + ("…" if len(sql) > 400 else ""))
        for row in plan:
            print("  " + " | ".join(str(c) for c in row))
        print("```")


def compliance_functions():
    try:
        from greenledger.measures import compliance
    except ImportError as error:
        return None, f"not timed: greenledger.measures.compliance is not importable ({error})"
    missing = [name for name in ("compliance_report", "annual_summary") if not hasattr(compliance, name)]
    if missing:
        return None, f"not timed: compliance module lacks {', '.join(missing)}"
    return compliance, ""


def time_everything(args, plant, generator, stats):
    from django.db import connection

    from greenledger.core.models import Site
    from greenledger.measures.models import ExecutionRecord, HourlyStatus
    from greenledger.measures.trace import batch_trace

    connection.close()  # time on a fresh connection with the application's settings
    runs = args.runs
    base_records, base_records_min, n_records = median_ms(count_sql(ExecutionRecord._meta.db_table), runs)
    base_hourly, base_hourly_min, n_hourly = median_ms(count_sql(HourlyStatus._meta.db_table), runs)
    scenarios = []  # (label, function, target, baseline, baseline label)
    for label, params in queries(plant, generator):
        scenarios.append((label, list_page(plant.viewer, params), INTERACTIVE_TARGET_MS, base_records, "records"))
    sites = Site.objects.filter(pk=plant.site.pk)
    for batch in (generator.batch_examples[-1], generator.batch_examples[0]):
        scenarios.append((f"batch_trace {batch}", lambda batch=batch: summarise_trace(batch_trace(batch, sites)),
                          INTERACTIVE_TARGET_MS, base_records, "records"))
    compliance, note = compliance_functions()
    if compliance is not None:
        start, end = datetime.date(plant.year, 1, 1), datetime.date(plant.year, 12, 31)
        scenarios.append((f"compliance_report(site, {start}, {end})",
                          lambda: summarise_result(compliance.compliance_report(sites, start, end)),
                          COMPLIANCE_TARGET_MS, base_records + base_hourly, "records + hourly"))
        scenarios.append((f"annual_summary(site, {plant.year})",
                          lambda: summarise_result(compliance.annual_summary(plant.site, plant.year)),
                          COMPLIANCE_TARGET_MS, base_records + base_hourly, "records + hourly"))
    scenarios = [s for s in scenarios if not args.only or args.only in s[0]]
    rows = []
    for label, function, target, baseline, baseline_label in scenarios:
        median, fastest, result = median_ms(function, runs)
        rows.append((label, median, fastest, result, baseline, baseline_label, target))
        log(f"{label}: {median:.1f} ms")
        if args.explain:
            explain(function, label)
    what_if = search_what_if = None
    if args.what_if:
        what_if = time_what_if(args, [s for s in scenarios if s[2] == INTERACTIVE_TARGET_MS], rows)
    if args.what_if_search and connection.vendor == "postgresql":
        search_what_if = time_search_what_if(args, [s for s in scenarios if s[0].startswith("q ")], rows)
    return {"search_what_if": search_what_if, "base_records": (base_records, base_records_min, n_records),
            "base_hourly": (base_hourly, base_hourly_min, n_hourly), "rows": rows, "compliance_note": note,
            "what_if": what_if}


# Candidate index changes, tried on the loaded data and removed again (--what-if): the indexes a
# migration would add, as Django's schema editor writes them for the database in use.
def what_if_statements(connection):
    from django.db import models
    from django.db.models import Q
    from django.db.models.functions import Upper

    from greenledger.measures.models import Anomaly, ExecutionRecord

    # occurred_at first, so the list's ORDER BY occurred_at DESC LIMIT 50 walks the index and stops early
    # whatever the site scope (site_id IN (subquery)); site and the flag make the pager's count covered
    indexes = [(ExecutionRecord, models.Index(fields=["occurred_at", "site", flag], condition=Q(**{flag: True}),
                                              name=f"bench_rec_{flag}_time"))
               for flag in ("has_anomaly", "is_late", "outsourced")]
    if connection.vendor == "postgresql":
        # iexact compiles to UPPER("batch_no"::text) = UPPER(%s): an index on UPPER(batch_no) serves it
        indexes += [(ExecutionRecord, models.Index(Upper("batch_no"), name="bench_rec_batch_upper")),
                    (Anomaly, models.Index(Upper("batch_no"), name="bench_anom_batch_upper"))]
    statements = []
    with connection.schema_editor(atomic=False) as editor:
        statements += [str(index.create_sql(model, editor)) for model, index in indexes]
    if connection.vendor == "sqlite":
        # iexact compiles to LIKE %s ESCAPE '\': SQLite's LIKE optimisation needs a NOCASE index
        statements += [
            "CREATE INDEX bench_rec_batch_nocase ON measures_executionrecord (batch_no COLLATE NOCASE)",
            "CREATE INDEX bench_anom_batch_nocase ON measures_anomaly (batch_no COLLATE NOCASE)",
        ]
    return statements


def time_what_if(args, scenarios, before_rows):
    """Create the candidate indexes, time the interactive queries again, drop the indexes."""
    from django.db import connection

    from greenledger.measures.models import ExecutionRecord

    statements = what_if_statements(connection)
    names = [sql.split()[2] for sql in statements]
    started = time.perf_counter()
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)
        cursor.execute("ANALYZE measures_executionrecord" if connection.vendor == "postgresql" else "ANALYZE")
        if connection.vendor == "postgresql":
            cursor.execute("ANALYZE measures_anomaly")
    build_seconds = time.perf_counter() - started
    log(f"what-if: {len(statements)} indexes built in {build_seconds:.1f} s")
    try:
        connection.close()
        base, _fastest, _n = median_ms(count_sql(ExecutionRecord._meta.db_table), args.runs)
        before = {row[0]: row[1] for row in before_rows}
        rows = []
        for label, function, target, _baseline, _baseline_label in scenarios:
            median, _fastest, _result = median_ms(function, args.runs)
            rows.append((label, before[label], median, base, target))
            log(f"what-if {label}: {before[label]:.1f} -> {median:.1f} ms")
    finally:
        with connection.cursor() as cursor:
            for name in names:
                cursor.execute(f"DROP INDEX IF EXISTS {name}")
    return {"statements": statements, "build_seconds": build_seconds, "base": base, "rows": rows}


# Candidate fix for keywords of two characters (封装, 异常, 检测 …), which yield no trigram, so the
# pg_trgm index cannot serve LIKE '%封装%': a derived column with the search text's character
# bigrams (here a generated column, in the application a field filled like search_text) and a GIN
# index over them; the filter adds "the record has every bigram of the short word" to the LIKEs.
BIGRAM_SQL = [
    """CREATE FUNCTION bench_bigrams(t text) RETURNS text LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE STRICT AS $$
       DECLARE r text[] := '{}'; b text;
       BEGIN
         FOR i IN 1 .. length(t) - 1 LOOP
           b := substr(t, i, 2);
           IF strpos(b, ' ') = 0 THEN r := r || b; END IF;
         END LOOP;
         RETURN array_to_string(r, ' ');
       END $$""",
    ("ALTER TABLE measures_executionrecord ADD COLUMN bench_bigrams text "
     "GENERATED ALWAYS AS (bench_bigrams(search_text)) STORED"),
    "CREATE INDEX bench_rec_bigrams ON measures_executionrecord USING gin (string_to_array(bench_bigrams, ' '))",
    "VACUUM (ANALYZE) measures_executionrecord",
]
BIGRAM_DROP = [
    "DROP INDEX IF EXISTS bench_rec_bigrams",
    "ALTER TABLE measures_executionrecord DROP COLUMN IF EXISTS bench_bigrams",
    "DROP FUNCTION IF EXISTS bench_bigrams(text)",
]


BIGRAM_RULES = {
    "2-char words": lambda words: [w for w in words if len(w) == 2],
    "all words, if none has 3+ chars": lambda words: words if all(len(w) < 3 for w in words) else [],
    "every word": lambda words: words,
}


def bigram_search_words(rule):
    """filtersets.search_words plus the bigram-index condition for the words ``rule`` picks."""
    from django.db.models import BooleanField, Q
    from django.db.models.expressions import RawSQL

    def search_words(queryset, value, field="search_text"):
        words = value.lower().split()
        condition = Q()
        for word in words:
            condition &= Q(**{f"{field}__contains": word})
        bigrams = sorted({w[i:i + 2] for w in rule(words) for i in range(len(w) - 1)})
        if bigrams:
            table = queryset.model._meta.db_table
            condition &= Q(RawSQL(f"string_to_array(\"{table}\".\"bench_bigrams\", ' ') @> %s", [bigrams],
                                  output_field=BooleanField()))
        return queryset.filter(condition)
    return search_words


def time_search_what_if(args, scenarios, before_rows):
    """Add the bigram column and index, time the keyword searches under each rule, drop them."""
    from django.db import connection

    from greenledger.measures import filtersets

    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("SET maintenance_work_mem = '512MB'")
        for sql in BIGRAM_DROP + BIGRAM_SQL:  # a run that was interrupted may have left them
            cursor.execute(sql)
        cursor.execute("SELECT pg_relation_size('bench_rec_bigrams')")
        index_bytes = cursor.fetchone()[0]
    build_seconds = time.perf_counter() - started
    log(f"what-if search: bigram column and index built in {build_seconds:.0f} s")
    original = filtersets.search_words
    before = {row[0]: row[1] for row in before_rows}
    variants = {"current filter": original, **{name: bigram_search_words(rule) for name, rule in BIGRAM_RULES.items()}}
    samples = {(label, name): [] for label, *_ in scenarios for name in variants}
    results = {label: {"before": before[label]} for label, *_ in scenarios}
    try:
        connection.close()
        # interleaved (variant after variant within each round), so load on the machine hits all alike
        for round_no in range(args.runs + 1):
            for name, search_words in variants.items():
                filtersets.search_words = search_words
                for label, function, *_rest in scenarios:
                    started = time.perf_counter()
                    results[label]["result"] = function()
                    if round_no:  # round 0 warms up
                        samples[(label, name)].append((time.perf_counter() - started) * 1000)
        for (label, name), values in samples.items():
            results[label][name] = statistics.median(values)
            log(f"what-if search ({name}) {label}: {results[label][name]:.1f} ms")
    finally:
        filtersets.search_words = original
        with connection.cursor() as cursor:
            for sql in BIGRAM_DROP:
                cursor.execute(sql)
    return {"build_seconds": build_seconds, "index_mb": index_bytes / 2**20, "results": results}


def summarise_trace(trace):
    return f"{sum(len(s.events) for s in trace.stages)} events in {len(trace.stages)} stages"


def summarise_result(result):
    for attr in ("rows", "measures", "lines", "items"):
        value = getattr(result, attr, None)
        if value is not None:
            try:
                return f"{len(value)} {attr}"
            except TypeError:
                pass
    try:
        return f"{len(result)} items"
    except TypeError:
        return type(result).__name__


# Output ----------------------------------------------------------------------------------------


def engine_name():
    from django.db import connection

    if connection.vendor == "sqlite":
        return f"SQLite {connection.Database.sqlite_version}"
    version = connection.pg_version
    return f"PostgreSQL {version // 10000}.{version % 10000}"


def report(args, plant, generator, stats, timings):
    import django

    counts = stats["counts"]
    seconds = stats.get("seconds")
    print(f"# measure ledger benchmark: {engine_name()}, Python {sys.version.split()[0]}, "
          f"Django {django.get_version()}\n")
    print(f"command: `{' '.join(['.venv/bin/python', 'bench/measures_bench.py', *sys.argv[1:]])}`; "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the end (other work shares the machine)\n")
    if stats.get("counts"):
        print(f"loaded one year ({plant.year}) of one plant: {len(plant.measures)} measures in "
              f"{len(plant.stages)} stages "
              f"({len(generator.continuous)} continuous), {stats['batches_per_day']} batches/day; "
              f"{counts['records']:,} execution records, {counts['hourly']:,} hourly status rows, "
              f"{counts['anomalies']:,} anomalies, {counts['events']:,} anomaly events, "
              f"{counts['decisions']:,} approvals, {counts['confirmations']:,} contractor confirmations, "
              f"{counts['misses']:,} missed executions.\n")
        sealed = (f"{stats['sealed']:,} rows sealed through evidence.tree.append_leaves "
                  f"(checkpoint at tree size {stats['checkpoint'].tree_size:,})" if stats["sealed"]
                  else "rows NOT sealed (--no-seal)")
        print(f"load: {stats['total_seconds']:.0f} s in all (generate {seconds['generate']:.0f} s, write "
              f"{seconds['write']:.0f} s, seal {seconds['seal']:.0f} s [re-read + hash {seconds['seal_read']:.0f} s, "
              f"append_leaves {seconds['seal_append']:.0f} s], index rebuild {stats['index_seconds']:.0f} s, "
              f"analyze {stats['analyze_seconds']:.0f} s); {sealed}.\n")
    else:
        print(f"timed an existing bench database (--reuse) loaded by an earlier run of this script; "
              f"{len(plant.measures)} measures.\n")
    base_r, _fastest, n_r = timings["base_records"]
    base_h, _fastest, n_h = timings["base_hourly"]
    print(f"baseline, same run: `SELECT count(*) FROM measures_executionrecord` ({n_r:,} rows) {base_r:.2f} ms; "
          f"`SELECT count(*) FROM measures_hourlystatus` ({n_h:,} rows) {base_h:.2f} ms "
          f"(median of {args.runs} warm runs).\n")
    print("| query | median ms | min ms | result | × count(*) | target | |")
    print("| --- | ---: | ---: | --- | ---: | ---: | --- |")
    for label, median, fastest, result, baseline, baseline_label, target in timings["rows"]:
        if isinstance(result, tuple):
            result = f"{result[0]:,} rows, page of {result[1]}"
        ratio = median / baseline if baseline else float("nan")
        verdict = "ok" if median <= target else "**MISS**"
        print(f"| {label} | {median:,.1f} | {fastest:,.1f} | {result} | {ratio:.2f} ({baseline_label}) | "
              f"{target:,} | {verdict} |")
    if timings["compliance_note"]:
        print(f"\ncompliance report and annual summary {timings['compliance_note']}.")
    what_if = timings.get("what_if")
    if what_if:
        print(f"\nwhat-if, same run: the interactive queries again after creating these indexes "
              f"({what_if['build_seconds']:.0f} s to build), then dropped again:\n")
        for sql in what_if["statements"]:
            print(f"    {sql};")
        print(f"\nbaseline `SELECT count(*)` records, again: {what_if['base']:.2f} ms\n")
        print("| query | before ms | after ms | after × count(*) | target | |")
        print("| --- | ---: | ---: | ---: | ---: | --- |")
        for label, before, after, base, target in what_if["rows"]:
            verdict = "ok" if after <= target else "**MISS**"
            print(f"| {label} | {before:,.1f} | {after:,.1f} | {after / base:.2f} | {target:,} | {verdict} |")
    search = timings.get("search_what_if")
    if search:
        print(f"\nwhat-if, same run: keyword searches with a character-bigram index "
              f"(generated column + GIN, {search['build_seconds']:.0f} s to build, index {search['index_mb']:.0f} MB; "
              f"see BIGRAM_SQL), then dropped again:\n")
        rules = ["current filter", *BIGRAM_RULES]
        print("(before: the main table above; the other columns were timed interleaved, with the bigram column "
              "present, \"current filter\" being today's search_words)\n")
        print("| query | result | before ms | current filter ms | "
              + " | ".join(f"+ bigrams of {r}, ms" for r in rules[1:]) + " |")
        print("| --- | --- | ---: | ---: | " + " | ".join("---:" for _ in rules[1:]) + " |")
        for label, figures in search["results"].items():
            result = figures["result"]
            result = f"{result[0]:,} rows" if isinstance(result, tuple) else result
            cells = [f"{figures[r]:,.1f}" + ("" if figures[r] <= INTERACTIVE_TARGET_MS else " **MISS**") for r in rules]
            print(f"| {label} | {result} | {figures['before']:,.1f} | " + " | ".join(cells) + " |")


def main():
    args = parse_args()
    if args.reuse:
        data_dir = Path(args.data_dir)
    elif args.data_dir:
        data_dir = Path(args.data_dir)
        data_dir.mkdir(parents=True, exist_ok=True)
    else:
        data_dir = Path(tempfile.mkdtemp(prefix="greenledger-measures-bench-"))
    prepare_environment(args, data_dir)
    try:
        run(args, data_dir)
    finally:
        if args.keep or args.reuse:
            log(f"kept: data dir {data_dir}" + (f", database {BENCH_DB}" if args.postgres else "")
                + f"; time it again with --reuse --data-dir {data_dir}")
        else:
            if args.postgres:
                drop_database(args)
            shutil.rmtree(data_dir, ignore_errors=True)


def run(args, data_dir):
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    if args.reuse:
        plant, generator, stats = restore_state(args, data_dir)
    else:
        call_command("migrate", verbosity=0)
        log(f"migrated {engine_name()}; creating the plant")
        plant = Plant(args.year, random.Random(args.seed)).create()
        generator, stats = load(args, plant, connection)
        sanity_checks(generator, stats)
        save_state(data_dir, plant, generator, stats)
    timings = time_everything(args, plant, generator, stats)
    report(args, plant, generator, stats, timings)


def save_state(data_dir, plant, generator, stats):
    state = {"year": plant.year, "batch_examples": generator.batch_examples, "counts": stats["counts"],
             "batches_per_day": stats["batches_per_day"]}
    (data_dir / "measures-bench.json").write_text(json.dumps(state))


def restore_state(args, data_dir):
    """Rebuild the plant lookups from a kept database (``--reuse``)."""
    from django.contrib.auth import get_user_model

    from greenledger.core.models import Site, Workshop
    from greenledger.measures.models import Measure

    state = json.loads((data_dir / "measures-bench.json").read_text())
    plant = Plant(state["year"], random.Random(args.seed))
    plant.site = Site.objects.get(code=SITE_CODE)
    plant.stages = list(Workshop.objects.filter(site=plant.site).order_by("sequence"))
    plant.viewer = get_user_model().objects.get(username="safety")
    plant.measures = [SimpleInfo(m) for m in Measure.objects.filter(site=plant.site).select_related("stage")]
    generator = SimpleGenerator(state["batch_examples"], [i for i in plant.measures if i.schedule == "continuous"])
    return plant, generator, {"counts": None}


class SimpleInfo:
    def __init__(self, measure):
        self.measure = measure
        self.schedule = measure.schedule


class SimpleGenerator:
    def __init__(self, batch_examples, continuous):
        self.batch_examples = batch_examples
        self.continuous = continuous


if __name__ == "__main__":
    main()
