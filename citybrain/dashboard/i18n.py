"""UI strings in Chinese (zh-CN, the default) and English; pages pick with ?lang=en."""

from __future__ import annotations

LANGUAGES = ("zh", "en")
DEFAULT = "zh"

STRINGS: dict[str, dict[str, str]] = {
    "title": {"zh": "城市大脑 · 运行指挥中心", "en": "City Brain · Operations Centre"},
    "map_title": {"zh": "各区县风险等级（近 15 分钟）", "en": "District risk, last 15 minutes"},
    "at_risk": {"zh": "风险区县及主要成因", "en": "Districts at risk, and why"},
    "all_clear": {"zh": "全市各区县运行正常，无预警", "en": "All districts normal: no warning"},
    "cameras_online": {"zh": "视频在线", "en": "cams online"},
    "sensors_reporting": {"zh": "感知在报", "en": "sensors live"},
    "critical_alerts": {"zh": "严重告警", "en": "critical alerts"},
    "of_total": {"zh": "/", "en": "/"},
    "no_data_legend": {"zh": "无数据", "en": "no data"},
    "core_inset": {"zh": "中心城区", "en": "Urban core"},
    "panel_risk": {"zh": "预警区县", "en": "Districts with a warning"},
    "panel_alerts": {"zh": "活动告警", "en": "Active alerts"},
    "panel_cases": {"zh": "今日市民诉求", "en": "Citizen cases today"},
    "panel_video": {"zh": "视频点位与感知设备", "en": "Video points and sensors"},
    "more": {"zh": "另有 {n} 项", "en": "+{n} more"},
    "floor_reason": {"zh": "触发底线：{floor}", "en": "floor: {floor}"},
    "col_received": {"zh": "受理", "en": "recv."},
    "col_resolved": {"zh": "办结", "en": "done"},
    "col_satisfaction": {"zh": "满意率", "en": "satisf."},
    "col_overdue": {"zh": "超期", "en": "overdue"},
    "col_online": {"zh": "在线", "en": "online"},
    "col_offline": {"zh": "离线", "en": "offline"},
    "col_reporting": {"zh": "感知在报", "en": "sensors"},
    "city_total": {"zh": "全市", "en": "City"},
    "no_active_alerts": {"zh": "当前无活动告警", "en": "No active alerts"},
    "minutes_ago": {"zh": "{m} 分钟前", "en": "{m} min ago"},
    "cleared_unacked": {"zh": "已恢复·待确认", "en": "cleared, unacked"},
    "events_per_min": {"zh": "事件/分钟", "en": "events/min"},
    "cameras": {"zh": "视频点位", "en": "video points"},
    "cameras_down": {"zh": "离线/故障点位", "en": "cameras offline/fault"},
    "sensors": {"zh": "物联感知点", "en": "IoT monitoring points"},
    "open_cases": {"zh": "在办诉求", "en": "open cases"},
    "open_emergencies": {"zh": "紧急诉求", "en": "open emergencies"},
    "active_alerts": {"zh": "活动告警", "en": "active alerts"},
    "fresh": {"zh": "数据更新于", "en": "data as of"},
    "ago": {"zh": "秒前", "en": "s ago"},
    "stale": {"zh": "数据流中断", "en": "FEED STALLED"},
    "no_data": {"zh": "暂无数据", "en": "no data yet"},
    "screen_stale": {"zh": "画面已停止更新", "en": "SCREEN NOT UPDATING"},
    "last_update": {"zh": "最后更新", "en": "last update"},
    "db_down": {"zh": "数据库不可用", "en": "DATABASE UNREACHABLE"},
    "district": {"zh": "区县", "en": "district"},
    "events": {"zh": "事件", "en": "events"},
    # shell and sign-in
    "sign_in": {"zh": "登录", "en": "Sign in"},
    "sign_out": {"zh": "退出登录", "en": "Sign out"},
    "username": {"zh": "用户名", "en": "User name"},
    "password": {"zh": "密码", "en": "Password"},
    "remember": {"zh": "保持登录（值守大屏）", "en": "Keep me signed in (wall screens)"},
    "bad_login": {"zh": "用户名或密码错误", "en": "Wrong user name or password"},
    "too_many": {
        "zh": "登录失败次数过多，请 {s} 秒后再试",
        "en": "Too many failed sign-ins: try again in {s} s",
    },
    "login_expired": {"zh": "页面已过期，请重新登录", "en": "The form expired: please sign in again"},
    "other_language": {"zh": "English", "en": "中文"},
    "forbidden": {"zh": "无权访问此页面", "en": "You may not open this page"},
    "forbidden_hint": {
        "zh": "您的账号角色没有此页面的权限，如需开通请联系管理员。",
        "en": "Your account's role does not include this page; ask an administrator.",
    },
    "go_home": {"zh": "返回首页", "en": "Back to the start page"},
    "not_found": {"zh": "页面不存在", "en": "Page not found"},
    "not_found_hint": {
        "zh": "您访问的地址不存在，请从上方导航进入。",
        "en": "There is no page at this address; use the navigation above.",
    },
    "page_overview": {"zh": "全市态势", "en": "Overview"},
    "page_duty": {"zh": "值班台", "en": "Duty"},
    "role_viewer": {"zh": "查看", "en": "viewer"},
    "role_officer": {"zh": "值班员", "en": "officer"},
    "role_leader": {"zh": "领导", "en": "leader"},
    "role_admin": {"zh": "管理员", "en": "admin"},
    "role_wall": {"zh": "大屏", "en": "wall screen"},
    "local_time": {"zh": "北京时间", "en": "local time"},
    # operations page
    "page_ops": {"zh": "运行监控", "en": "Operations"},
    "ops_throughput": {
        "zh": "各输入主题吞吐（事件/分钟，按事件时间）",
        "en": "Throughput per input topic (events/min, by event time)",
    },
    "ops_lag": {
        "zh": "消费积压（按分区，来自消息队列）",
        "en": "Consumer lag per partition (from the broker)",
    },
    "ops_dead_letters": {
        "zh": "死信（按原因，近 1 小时 / 24 小时）",
        "en": "Dead letters by reason (last hour / day)",
    },
    "ops_jobs": {"zh": "存储任务健康", "en": "Storage job health"},
    "ops_quality": {"zh": "迟到事件与诉求数据质量", "en": "Late events and case data quality"},
    "ops_deliveries": {"zh": "告警通知投递（近 24 小时）", "en": "Alert notifications (last day)"},
    "ops_unavailable": {"zh": "暂不可读", "en": "unavailable"},
    "ops_topic": {"zh": "主题", "en": "Topic"},
    "ops_partition": {"zh": "分区", "en": "Part."},
    "ops_committed": {"zh": "已提交", "en": "Committed"},
    "ops_end": {"zh": "末尾偏移", "en": "End"},
    "ops_lag_col": {"zh": "积压", "en": "Lag"},
    "ops_no_partitions": {"zh": "消息队列中还没有输入主题", "en": "The broker has no input topics yet"},
    "ops_reason": {"zh": "原因", "en": "Reason"},
    "ops_last_hour": {"zh": "1 小时", "en": "1 h"},
    "ops_last_day": {"zh": "24 小时", "en": "24 h"},
    "ops_newest": {"zh": "最近", "en": "Newest"},
    "ops_no_dead_letters": {"zh": "24 小时内没有死信", "en": "No dead letters in the last day"},
    "ops_received": {"zh": "接收时间", "en": "Received"},
    "ops_source": {"zh": "来源位置", "en": "Source"},
    "ops_detail": {"zh": "说明", "en": "Detail"},
    "ops_replayed": {"zh": "已重发", "en": "replayed"},
    "ops_newest_dead": {"zh": "最新死信", "en": "Newest dead letters"},
    "ops_workers": {"zh": "数据处理进程（心跳）", "en": "Workers (heartbeats)"},
    "ops_worker": {"zh": "进程", "en": "Worker"},
    "ops_group": {"zh": "消费组", "en": "Group"},
    "ops_last_beat": {"zh": "最近心跳", "en": "Last beat"},
    "ops_beat_age": {"zh": "秒前", "en": "Age s"},
    "ops_partitions": {"zh": "持有分区", "en": "Partitions held"},
    "ops_worker_live": {"zh": "在线", "en": "live"},
    "ops_worker_stale": {"zh": "失联", "en": "STALE"},
    "ops_no_workers": {"zh": "尚无进程心跳", "en": "No worker has reported yet"},
    "ops_replay_pick": {"zh": "选择要重发的死信", "en": "Choose dead letters to re-send"},
    "ops_replay": {"zh": "重发到原主题", "en": "Re-send to their topic"},
    "ops_replay_none": {"zh": "请先选择死信", "en": "Choose dead letters first"},
    "ops_replay_done": {"zh": "已重发 {n} 条死信（{ids}）", "en": "Re-sent {n} dead letter(s) ({ids})"},
    "ops_replay_failed": {"zh": "未能重发：{why}", "en": "Not re-sent: {why}"},
    "ops_dlq_howto": {
        "zh": "处理：查看原文并重发（修正后）：",
        "en": "Work them: read one whole, then re-send it (fixed):",
    },
    "ops_job_failing": {"zh": "失败", "en": "FAILING"},
    "ops_job_overdue": {"zh": "超时未运行", "en": "OVERDUE"},
    "ops_job_ok": {"zh": "正常", "en": "ok"},
    "ops_mode_timescale": {
        "zh": "存储模式：TimescaleDB（后台任务）",
        "en": "Storage: TimescaleDB (background jobs)",
    },
    "ops_mode_plain": {
        "zh": "存储模式：PostgreSQL（由数据处理进程维护）",
        "en": "Storage: plain PostgreSQL (tasks run by the worker)",
    },
    "ops_storage_facts": {
        "zh": "数据库 {size:,.0f} MB · 原始数据保留 {raw} 天，分钟汇总 {m} 天，小时汇总 {h} 天",
        "en": "database {size:,.0f} MB · raw data kept {raw} days, minute rollups {m}, hourly {h}",
    },
    "ops_state": {"zh": "状态", "en": "State"},
    "ops_job": {"zh": "任务", "en": "Job"},
    "ops_relation": {"zh": "对象", "en": "Table"},
    "ops_last_success": {"zh": "最近成功", "en": "Last success"},
    "ops_failures": {"zh": "失败", "en": "Fails"},
    "ops_error": {"zh": "错误", "en": "Error"},
    "ops_no_jobs": {"zh": "尚无任务记录", "en": "No jobs recorded yet"},
    "job_policy_compression": {"zh": "压缩", "en": "compression"},
    "job_policy_retention": {"zh": "过期清理", "en": "retention"},
    "job_policy_refresh_continuous_aggregate": {"zh": "汇总刷新", "en": "rollup refresh"},
    "job_retention_prune": {"zh": "过期清理", "en": "retention"},
    "job_citybrain_refresh_late_rollups": {"zh": "迟到数据汇总", "en": "late-row rollup refresh"},
    "job_apply_policies": {"zh": "应用存储策略", "en": "apply policies"},
    "ops_late": {"zh": "迟到事件（窗口已定稿后到达）", "en": "Late events (after their window was final)"},
    "ops_no_late": {"zh": "24 小时内没有迟到事件", "en": "No late events in the last day"},
    "ops_findings": {"zh": "诉求数据质量问题", "en": "Case data-quality findings"},
    "ops_finding": {"zh": "问题", "en": "Finding"},
    "ops_cases": {"zh": "件数", "en": "Cases"},
    "ops_examples": {"zh": "示例", "en": "Examples"},
    "ops_no_findings": {"zh": "没有数据质量问题", "en": "No findings"},
    "finding_never_created": {"zh": "从未收到创建事件", "en": "never created"},
    "finding_resolved_before_created": {"zh": "办结早于创建", "en": "resolved before created"},
    "finding_closed_before_created": {"zh": "关闭早于创建", "en": "closed before created"},
    "ops_receiver": {"zh": "接收方", "en": "Receiver"},
    "ops_delivered": {"zh": "成功", "en": "Delivered"},
    "ops_failed": {"zh": "失败", "en": "Failed"},
    "ops_no_deliveries": {"zh": "24 小时内没有发送通知", "en": "No notifications in the last day"},
    "ops_failed_deliveries": {"zh": "投递失败", "en": "Failed deliveries"},
    "ops_when": {"zh": "时间", "en": "When"},
    "ops_tries": {"zh": "尝试", "en": "Tries"},
    "ops_kpi_rate": {"zh": "事件/分钟（上一分钟）", "en": "events/min (last minute)"},
    "ops_kpi_lag": {"zh": "消费积压（条）", "en": "consumer lag (messages)"},
    "ops_kpi_dead": {"zh": "死信（1 小时）", "en": "dead letters (1 h)"},
    "ops_kpi_late": {"zh": "迟到事件（1 小时）", "en": "late events (1 h)"},
    "ops_kpi_jobs": {"zh": "异常存储任务", "en": "storage jobs failing/overdue"},
    "ops_kpi_deliveries": {"zh": "通知投递失败（24 小时）", "en": "failed notifications (1 day)"},
    # duty console
    "alert_queue": {"zh": "告警队列", "en": "Alert queue"},
    "col_severity": {"zh": "级别", "en": "Level"},
    "col_title": {"zh": "告警", "en": "Alert"},
    "col_district": {"zh": "区县", "en": "District"},
    "col_state": {"zh": "状态", "en": "State"},
    "col_assignee": {"zh": "处置人", "en": "Owner"},
    "col_age": {"zh": "持续", "en": "Age"},
    "col_escalation": {"zh": "升级", "en": "Esc."},
    "col_next_escalation": {"zh": "下次升级", "en": "Next esc."},
    "col_opened": {"zh": "发生时间", "en": "Opened"},
    "filter_district": {"zh": "全部区县", "en": "All districts"},
    "filter_severity": {"zh": "全部级别", "en": "All severities"},
    "filter_state": {"zh": "全部状态", "en": "All states"},
    "filter_mine": {"zh": "指派给我", "en": "Assigned to me"},
    "filter_muted": {"zh": "含已静默", "en": "Include muted"},
    "state_unacked": {"zh": "未确认", "en": "unacked"},
    "state_acked": {"zh": "已确认", "en": "acked"},
    "state_cleared": {"zh": "已恢复", "en": "cleared"},
    "state_active": {"zh": "持续中", "en": "active"},
    "muted_silenced": {"zh": "已静默", "en": "silenced"},
    "muted_inhibited": {"zh": "已抑制", "en": "inhibited"},
    "sev_critical": {"zh": "紧急", "en": "critical"},
    "sev_major": {"zh": "重要", "en": "major"},
    "sev_minor": {"zh": "次要", "en": "minor"},
    "sev_warning": {"zh": "提示", "en": "warning"},
    "no_alerts": {"zh": "当前没有未处置的告警", "en": "No open alerts"},
    "select_alert": {
        "zh": "在队列中选择一条告警以查看详情和处置",
        "en": "Select an alert in the queue to see and act on it",
    },
    "act_ack": {"zh": "确认", "en": "Acknowledge"},
    "act_assign": {"zh": "指派", "en": "Assign"},
    "act_comment": {"zh": "添加备注", "en": "Comment"},
    "act_resolve": {"zh": "处置完成", "en": "Resolve"},
    "act_silence": {"zh": "静默", "en": "Silence"},
    "assign_to": {"zh": "指派给…", "en": "Assign to…"},
    "comment_text": {"zh": "备注内容", "en": "Comment"},
    "resolve_note": {"zh": "处置说明（必填）", "en": "What was done (required)"},
    "silence_minutes": {"zh": "静默分钟数", "en": "Minutes"},
    "silence_reason": {"zh": "静默原因（必填）", "en": "Reason (required)"},
    "silence_scope_district": {"zh": "本区县此类告警", "en": "this rule in this district"},
    "silence_scope_rule": {"zh": "全市此类告警", "en": "this rule city-wide"},
    "silence_scope_custom": {"zh": "按标签匹配", "en": "by label matchers"},
    "silence_matchers": {
        "zh": "标签匹配（选“按标签匹配”时）：district=510104 rule=~camera_.*",
        "en": "Matchers (with “by label matchers”): district=510104 rule=~camera_.*",
    },
    "need_matchers": {"zh": "请填写标签匹配条件", "en": "Write the label matchers first"},
    "done_ack": {"zh": "已确认", "en": "Acknowledged"},
    "done_assign": {"zh": "已指派给 {who}", "en": "Assigned to {who}"},
    "done_comment": {"zh": "备注已记录", "en": "Comment recorded"},
    "done_resolve": {"zh": "已处置完成", "en": "Resolved"},
    "done_silence": {"zh": "已静默 {m} 分钟", "en": "Silenced for {m} min"},
    "conflict_ack": {"zh": "该告警已由 {who} 于 {at} 确认", "en": "Already acknowledged by {who} at {at}"},
    "conflict_resolve": {
        "zh": "该告警已由 {who} 于 {at} 处置完成",
        "en": "Already resolved by {who} at {at}",
    },
    "need_note": {"zh": "请填写处置说明", "en": "A note saying what was done is required"},
    "need_text": {"zh": "请填写备注内容", "en": "Write the comment first"},
    "need_reason": {"zh": "请填写静默原因和时长", "en": "A silence needs a reason and a duration"},
    "need_assignee": {"zh": "请选择处置人", "en": "Choose whom to assign"},
    "read_only": {
        "zh": "只读：领导可查看值班台，处置由值班员完成",
        "en": "Read-only: officers act on alerts",
    },
    "history": {"zh": "处置记录", "en": "History"},
    "cases_title": {"zh": "在办市民诉求（紧急优先）", "en": "Open citizen cases (emergencies first)"},
    "col_case": {"zh": "诉求编号", "en": "Case"},
    "col_category": {"zh": "类别", "en": "Category"},
    "col_urgency": {"zh": "紧急程度", "en": "Urgency"},
    "col_deadline": {"zh": "办理时限", "en": "Deadline"},
    "col_time_left": {"zh": "剩余时间", "en": "Time left"},
    "urgency_emergency": {"zh": "紧急", "en": "emergency"},
    "urgency_normal": {"zh": "一般", "en": "normal"},
    "overdue": {"zh": "已超期", "en": "overdue"},
    "cases_summary": {
        "zh": "在办 {open} 件 · 紧急 {emergencies} 件 · 超期 {overdue} 件",
        "en": "{open} open · {emergencies} emergencies · {overdue} overdue",
    },
    "new_critical": {"zh": "新的紧急告警，请立即确认", "en": "New critical alert: acknowledge it now"},
    "enable_sound": {"zh": "开启提示音", "en": "Enable sound"},
    "max_escalation": {"zh": "已达最高级", "en": "at top level"},
    "action_failed": {"zh": "操作未完成：{why}", "en": "Not done: {why}"},
}


INDICATORS: dict[str, dict[str, str]] = {
    "camera_offline_ratio": {"zh": "视频点位离线", "en": "cameras offline"},
    "sensor_offline_ratio": {"zh": "感知设备离线", "en": "sensors silent"},
    "exceed_water_level": {"zh": "水位超警戒", "en": "water over warning line"},
    "exceed_gas": {"zh": "燃气浓度超限", "en": "gas over alarm level"},
    "exceed_pm25": {"zh": "PM2.5 超标", "en": "PM2.5 over limit"},
    "exceed_noise": {"zh": "噪声超标", "en": "noise over limit"},
    "exceed_temperature": {"zh": "高温", "en": "heat"},
    "case_pressure": {"zh": "诉求量激增", "en": "surge of citizen cases"},
    "open_emergencies": {"zh": "紧急诉求未办结", "en": "open emergency cases"},
    "overdue_cases": {"zh": "诉求超期", "en": "overdue cases"},
}
ACTIONS: dict[str, dict[str, str]] = {
    "open": {"zh": "告警产生", "en": "opened"},
    "update": {"zh": "数值更新", "en": "updated"},
    "acknowledge": {"zh": "确认", "en": "acknowledged"},
    "assign": {"zh": "指派", "en": "assigned"},
    "comment": {"zh": "备注", "en": "comment"},
    "escalate": {"zh": "升级", "en": "escalated"},
    "clear": {"zh": "恢复", "en": "cleared"},
    "resolve": {"zh": "处置完成", "en": "resolved"},
    "silence": {"zh": "静默", "en": "silenced"},
    "unmute": {"zh": "解除静默", "en": "unmuted"},
    "repeat": {"zh": "重复通知", "en": "notified again"},
    "edit_silence": {"zh": "修改静默", "en": "silence changed"},
    "expire_silence": {"zh": "提前解除静默", "en": "silence lifted"},
}
SENSOR_KINDS: dict[str, dict[str, str]] = {
    "water_level": {"zh": "水位", "en": "water level"},
    "gas": {"zh": "燃气浓度", "en": "gas"},
    "pm25": {"zh": "PM2.5", "en": "PM2.5"},
    "noise": {"zh": "噪声", "en": "noise"},
    "temperature": {"zh": "温度", "en": "temperature"},
}
# what each rule type's alert says, from its labels and value; {district} is the district's name
ALERT_TITLES: dict[str, dict[str, str]] = {
    "risk_level": {
        "zh": "{district}风险达{level}（评分 {value:.0f}）",
        "en": "{district} risk at {level} (score {value:.0f})",
    },
    "sensor_threshold": {
        "zh": "{district}{kind}超限：{value:g}（限值 {limit:g}）",
        "en": "{district}: {kind} {value:g} over the limit {limit:g}",
    },
    "camera_cluster": {
        "zh": "{district} {value:.0%} 视频点位离线",
        "en": "{district}: {value:.0%} of video points down",
    },
    "camera_offline": {
        "zh": "{district}视频点位离线 {minutes:.0f} 分钟",
        "en": "{district}: a video point down for {minutes:.0f} min",
    },
    "case_unassigned": {
        "zh": "{district}紧急诉求（{category}）{minutes:.0f} 分钟未派单",
        "en": "{district}: emergency case ({category}) unassigned for {minutes:.0f} min",
    },
    "case_overdue": {
        "zh": "{district}诉求（{category}）超期 {minutes:.0f} 分钟",
        "en": "{district}: case ({category}) overdue by {minutes:.0f} min",
    },
    "no_data_device": {
        "zh": "{district}{kind}传感器 {minutes:.0f} 分钟无数据",
        "en": "{district}: a {kind} sensor silent for {minutes:.0f} min",
    },
    "no_data_district": {
        "zh": "{district} {minutes:.0f} 分钟无数据上报",
        "en": "{district}: no data for {minutes:.0f} min",
    },
    "storage_job_failing": {"zh": "存储任务 {job} 运行异常", "en": "Storage job {job} failing or overdue"},
}
LEVELS: dict[str, dict[str, str]] = {
    "normal": {"zh": "正常", "en": "Normal"},
    "blue": {"zh": "蓝色 IV级", "en": "Blue IV"},
    "yellow": {"zh": "黄色 III级", "en": "Yellow III"},
    "orange": {"zh": "橙色 II级", "en": "Orange II"},
    "red": {"zh": "红色 I级", "en": "Red I"},
}


FLOORS: dict[str, dict[str, str]] = {
    "water_over_warning_line": {"zh": "水位超警戒线", "en": "water over its warning line"},
    "gas_over_alarm_level": {"zh": "燃气报警", "en": "gas alarm"},
    "camera_outage": {"zh": "大面积视频点位离线", "en": "district-wide camera outage"},
    "open_emergency": {"zh": "紧急诉求未办结", "en": "open emergency case"},
}


def floor_name(key: str, lang: str) -> str:
    """A hazard floor's name from config/risk.yaml, in ``lang`` (its key when it has no translation)."""
    return FLOORS.get(key, {}).get(lang_of(lang), key.replace("_", " "))


def indicator_name(key: str, lang: str) -> str:
    return INDICATORS.get(key, {}).get(lang_of(lang), key)


def level_name(level: str, lang: str) -> str:
    return LEVELS[level][lang_of(lang)]


def action_name(action: str, lang: str) -> str:
    return ACTIONS.get(action, {}).get(lang_of(lang), action)


def sensor_kind(kind: str | None, lang: str) -> str:
    return SENSOR_KINDS.get(kind or "", {}).get(lang_of(lang), kind or "")


def html_lang(lang: str) -> str:
    """The value of <html lang>."""
    return "zh-CN" if lang_of(lang) == "zh" else "en"


def lang_of(value: str | None) -> str:
    return value if value in LANGUAGES else DEFAULT


def t(key: str, lang: str) -> str:
    return STRINGS[key][lang_of(lang)]
