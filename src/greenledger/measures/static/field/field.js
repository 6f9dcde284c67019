/* GreenLedger field app (现场录入): offline-first recording of measure executions, Enketo style.
 *
 * Every submission is saved in IndexedDB first ("records", keyed by a client UUID; photos as
 * Blobs in "files"), then the queue is uploaded one record at a time to POST /api/measures/records.
 * The server stores a client UUID once, so a retry after a lost reply is safe. Uploads run on the
 * `online` event, on a timer with exponential backoff, and on the "sync now" button; before each
 * run a real probe (GET /m/ping, body "connected") decides, never navigator.onLine alone.
 *
 * Record statuses: pending (waiting) → sending → sent; or confirm (values out of range: the person
 * confirms and it is resent with confirm=true); or error (refused: edit or delete it).
 */
(function () {
    'use strict';

    const configNode = document.getElementById('field-config');
    if (!configNode) {
        return;
    }
    const config = JSON.parse(configNode.textContent);
    const t = (key, params) => (config.i18n[key] || key).replace(/%\((\w+)\)s/g, (_m, name) => String(params && name in params ? params[name] : ''));

    const BACKOFF_BASE_MS = 5000;
    const BACKOFF_MAX_MS = 5 * 60 * 1000;
    const TICK_MS = 15000;
    const PROBE_TIMEOUT_MS = 8000;
    const KEEP_SENT_MS = 3 * 24 * 3600 * 1000;
    const KEEP_SENT_COUNT = 30;
    const PAGES_REFRESH_MS = 30 * 60 * 1000;

    // Small helpers ------------------------------------------------------------------------------

    function newId() {
        if (window.crypto && typeof crypto.randomUUID === 'function') {
            return crypto.randomUUID();
        }
        // crypto.randomUUID needs a secure context; getRandomValues does not
        const bytes = crypto.getRandomValues(new Uint8Array(16));
        bytes[6] = (bytes[6] & 0x0f) | 0x40;
        bytes[8] = (bytes[8] & 0x3f) | 0x80;
        const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
        return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
    }

    function csrfToken() {
        const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
        if (match) {
            return decodeURIComponent(match[1]);
        }
        const meta = document.querySelector('meta[name="csrf-token"]');
        return meta ? meta.content : '';
    }

    const pad = (n) => String(n).padStart(2, '0');

    function localMinute(date) {
        return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
    }

    function parseLocal(text) {
        // "2026-05-04T08:30" without an offset is the device's local time
        const date = text ? new Date(text) : null;
        return date && !isNaN(date.getTime()) ? date : null;
    }

    function hhmm(iso) {
        const date = new Date(iso);
        return isNaN(date.getTime()) ? '' : `${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${pad(date.getHours())}:${pad(date.getMinutes())}`;
    }

    function el(tag, attrs, ...children) {
        const node = document.createElement(tag);
        for (const [key, value] of Object.entries(attrs || {})) {
            if (value === null || value === undefined || value === false) {
                continue;
            }
            if (key === 'class') {
                node.className = value;
            } else if (key === 'text') {
                node.textContent = value;
            } else {
                node.setAttribute(key, value === true ? '' : value);
            }
        }
        for (const child of children) {
            if (child !== null && child !== undefined) {
                node.append(child);
            }
        }
        return node;
    }

    function toBase64(blob) {
        return new Promise((resolve, reject) => {
            const reader = new FileReader();
            reader.onload = () => resolve(String(reader.result).split(',', 2)[1] || '');
            reader.onerror = () => reject(reader.error);
            reader.readAsDataURL(blob);
        });
    }

    function recordUrl(measureId, draftId) {
        return config.scope + `measures/${measureId}/record/` + (draftId ? `?draft=${encodeURIComponent(draftId)}` : '');
    }

    // IndexedDB store ------------------------------------------------------------------------------

    const DB_NAME = 'greenledger-field';
    const DB_VERSION = 1;
    let dbPromise = null;

    function openDb() {
        if (!dbPromise) {
            dbPromise = new Promise((resolve, reject) => {
                const request = indexedDB.open(DB_NAME, DB_VERSION);
                request.onupgradeneeded = (event) => {
                    const db = request.result;
                    if (event.oldVersion < 1) {
                        // v1: records keyed by client UUID; photos kept apart as Blobs
                        db.createObjectStore('records', { keyPath: 'id' }).createIndex('status', 'status');
                        db.createObjectStore('files', { keyPath: 'id' }).createIndex('record', 'record');
                    }
                    // a later version adds its step here: if (event.oldVersion < 2) { ... }
                };
                request.onsuccess = () => {
                    const db = request.result;
                    db.onversionchange = () => db.close();
                    resolve(db);
                };
                request.onerror = () => reject(request.error);
                request.onblocked = () => reject(new Error('IndexedDB is blocked by another tab'));
            });
        }
        return dbPromise;
    }

    function transact(stores, mode, body) {
        return openDb().then((db) => new Promise((resolve, reject) => {
            const tx = db.transaction(stores, mode);
            let result;
            tx.oncomplete = () => resolve(result);
            tx.onerror = () => reject(tx.error);
            tx.onabort = () => reject(tx.error || new Error('transaction aborted'));
            body(tx, (value) => { result = value; });
        }));
    }

    function deleteFilesIn(tx, recordId) {
        const files = tx.objectStore('files');
        const keys = files.index('record').getAllKeys(recordId);
        keys.onsuccess = () => keys.result.forEach((key) => files.delete(key));
    }

    const store = {
        all() {
            return transact(['records'], 'readonly', (tx, done) => {
                const request = tx.objectStore('records').getAll();
                request.onsuccess = () => done(request.result);
            });
        },
        get(id) {
            return transact(['records'], 'readonly', (tx, done) => {
                const request = tx.objectStore('records').get(id);
                request.onsuccess = () => done(request.result);
            });
        },
        put(record) {
            return transact(['records'], 'readwrite', (tx) => { tx.objectStore('records').put(record); });
        },
        /** Save a record and, unless ``files`` is null, replace its photos — in one transaction. */
        save(record, files) {
            return transact(['records', 'files'], 'readwrite', (tx) => {
                if (files) {
                    deleteFilesIn(tx, record.id);  // reads the old keys before the puts below
                    const stamp = Date.now();
                    files.forEach((file, index) => {
                        tx.objectStore('files').put({
                            id: `${record.id}:${stamp}:${index}`, record: record.id,
                            name: file.name || `photo-${index + 1}.jpg`, type: file.type, blob: file,
                        });
                    });
                }
                tx.objectStore('records').put(record);
            });
        },
        files(recordId) {
            return transact(['files'], 'readonly', (tx, done) => {
                const request = tx.objectStore('files').index('record').getAll(recordId);
                request.onsuccess = () => done(request.result);
            });
        },
        dropFiles(recordId) {
            return transact(['files'], 'readwrite', (tx) => deleteFilesIn(tx, recordId));
        },
        remove(recordId) {
            return transact(['records', 'files'], 'readwrite', (tx) => {
                tx.objectStore('records').delete(recordId);
                deleteFilesIn(tx, recordId);
            });
        },
    };

    async function update(id, change) {
        const record = await store.get(id);
        if (!record) {
            return null;
        }
        change(record);
        await store.put(record);
        return record;
    }

    // Connectivity -----------------------------------------------------------------------------------

    let online = null;

    async function probe() {
        const controller = new AbortController();
        const timer = setTimeout(() => controller.abort(), PROBE_TIMEOUT_MS);
        let ok = false;
        try {
            const response = await fetch(config.ping, { cache: 'no-cache', credentials: 'same-origin', signal: controller.signal });
            // a service worker or captive portal may answer; only our ping says "connected"
            ok = response.ok && (await response.text()).includes('connected');
        } catch (error) {
            ok = false;
        } finally {
            clearTimeout(timer);
        }
        setOnline(ok);
        return ok;
    }

    function setOnline(value) {
        online = value;
        const node = document.getElementById('net-state');
        if (node) {
            node.dataset.state = value ? 'online' : 'offline';
            node.textContent = t(value ? 'online' : 'offline');
        }
    }

    // Upload queue --------------------------------------------------------------------------------------

    async function withLock(fn) {
        // one uploader across tabs; without Web Locks each tab uploads (the server dedupes anyway)
        if (navigator.locks && navigator.locks.request) {
            return navigator.locks.request('greenledger-field-sync', { ifAvailable: true }, (lock) => (lock ? fn() : null));
        }
        return fn();
    }

    const sync = {
        current: null,
        again: false,
        failures: 0,
        nextAttemptAt: 0,

        run(options) {
            if (options && options.force) {
                this.failures = 0;
                this.nextAttemptAt = 0;
            }
            if (this.current) {
                this.again = true;
                return this.current;
            }
            this.current = (async () => {
                try {
                    do {
                        this.again = false;
                        await withLock(() => this.pass());
                        await render();
                    } while (this.again && Date.now() >= this.nextAttemptAt);
                } catch (error) {
                    console.error('field sync', error);
                } finally {
                    this.current = null;
                }
            })();
            return this.current;
        },

        async pass() {
            const tried = new Set();
            let checked = false;
            for (;;) {
                const queue = (await store.all())
                    .filter((r) => r.user === config.user && r.status === 'pending' && !tried.has(r.id))
                    .sort((a, b) => a.createdAt - b.createdAt);
                if (!queue.length) {
                    this.failures = 0;
                    this.nextAttemptAt = 0;
                    return;
                }
                if (!checked) {
                    checked = true;
                    if (!(await probe())) {
                        await markQueuedOffline(queue, t('no_network'));
                        this.backoff();
                        return;
                    }
                }
                const record = queue[0];
                tried.add(record.id);
                const outcome = await upload(record);
                if (outcome === 'retry') {
                    this.backoff();
                    return;
                }
            }
        },

        backoff() {
            this.failures += 1;
            const delay = Math.min(BACKOFF_BASE_MS * 2 ** (this.failures - 1), BACKOFF_MAX_MS);
            this.nextAttemptAt = Date.now() + delay * (0.8 + Math.random() * 0.4);
        },

        tick() {
            if (online === false && document.visibilityState === 'visible' && !this.current) {
                probe();  // keep the indicator honest even with nothing to upload
            }
            if (Date.now() >= this.nextAttemptAt) {
                this.run();
            }
        },
    };

    async function markQueuedOffline(queue, message) {
        // "offline" = its first upload attempt found no network
        for (const record of queue) {
            await update(record.id, (r) => {
                if (!r.attempts && r.payload.source !== 'offline') {
                    r.payload.source = 'offline';
                }
                r.message = message;
            });
        }
    }

    async function upload(record) {
        record = await update(record.id, (r) => { r.status = 'sending'; r.attempts = (r.attempts || 0) + 1; });
        if (!record) {
            return 'gone';
        }
        await render();
        let body;
        try {
            const files = await store.files(record.id);
            const photos = [];
            for (const file of files) {
                photos.push({ name: file.name, content_base64: await toBase64(file.blob) });
            }
            body = JSON.stringify(Object.assign({}, record.payload, { photos }));
        } catch (error) {
            await update(record.id, (r) => { r.status = 'error'; r.message = String(error); });
            return 'error';
        }
        let response;
        try {
            response = await fetch(config.records, {
                method: 'POST', credentials: 'same-origin', cache: 'no-store', body,
                headers: { 'Content-Type': 'application/json', Accept: 'application/json', 'X-CSRFToken': csrfToken() },
            });
        } catch (error) {
            // the reply may be lost after the server stored it: the same UUID makes the retry safe
            setOnline(false);
            await update(record.id, (r) => {
                r.status = 'pending';
                r.message = t('no_network');
                if (r.attempts === 1) {
                    r.payload.source = 'offline';
                }
            });
            return 'retry';
        }
        let data = {};
        try {
            data = await response.json();
        } catch (error) {
            data = {};
        }
        const errors = Array.isArray(data.errors) ? data.errors : [];
        const status = response.status;
        if (status === 200 || status === 201) {
            await update(record.id, (r) => {
                r.status = 'sent';
                r.sentAt = Date.now();
                r.recordedAt = data.recorded_at || null;
                r.message = '';
                r.warnings = [];
                r.errors = [];
            });
            await store.dropFiles(record.id);
            return 'sent';
        }
        if (status === 409) {
            await update(record.id, (r) => { r.status = 'confirm'; r.warnings = errors; r.message = ''; });
            return 'confirm';
        }
        const authProblem = status === 401 || (status === 403 && !errors.some((e) => e.rule === 'permission'));
        if (authProblem || status >= 500 || status === 408 || status === 429) {
            await update(record.id, (r) => {
                r.status = 'pending';
                r.message = authProblem ? t('login_again') : t('server_trouble', { status });
            });
            return 'retry';
        }
        await update(record.id, (r) => {
            r.status = 'error';
            r.errors = errors;
            r.message = errors.map((e) => e.message).join(' ') || `HTTP ${status}`;
        });
        return 'error';
    }

    // Saving ------------------------------------------------------------------------------------------------

    function newRecord(id, measure, measureName, payload, photoCount) {
        return {
            id, user: config.user, measure, measureName, photoCount: photoCount || 0,
            payload: Object.assign({ id, measure, confirm: false }, payload),
            status: 'pending', message: '', warnings: [], errors: [], attempts: 0, createdAt: Date.now(),
        };
    }

    async function confirmAndResend(id) {
        await update(id, (r) => { r.payload.confirm = true; r.status = 'pending'; r.warnings = []; r.message = ''; });
        await render();
        return sync.run({ force: true });
    }

    async function resend(id) {
        await update(id, (r) => { r.status = 'pending'; r.message = ''; });
        return sync.run({ force: true });
    }

    async function cleanUp() {
        const records = await store.all();
        const sent = records.filter((r) => r.status === 'sent').sort((a, b) => b.sentAt - a.sentAt);
        for (const [index, record] of sent.entries()) {
            if (index >= KEEP_SENT_COUNT || Date.now() - record.sentAt > KEEP_SENT_MS) {
                await store.remove(record.id);
            }
        }
        for (const record of records.filter((r) => r.status === 'sending')) {
            await update(record.id, (r) => { r.status = 'pending'; });  // the page closed mid-upload
        }
    }

    // The sync list -------------------------------------------------------------------------------------

    const listeners = [];

    async function render() {
        let records;
        try {
            records = await store.all();
        } catch (error) {
            return;
        }
        records.sort((a, b) => b.createdAt - a.createdAt);
        const mine = records.filter((r) => r.user === config.user);
        const waiting = mine.filter((r) => r.status === 'pending' || r.status === 'sending').length;
        const attention = mine.filter((r) => r.status === 'error' || r.status === 'confirm').length;
        const summary = document.getElementById('sync-summary');
        if (summary) {
            summary.textContent = [
                waiting ? t('queued', { count: waiting }) : '',
                attention ? t('attention', { count: attention }) : '',
                !waiting && !attention && mine.length ? t('all_sent') : '',
            ].filter(Boolean).join(' · ');
            summary.dataset.waiting = String(waiting);
            summary.dataset.attention = String(attention);
        }
        const bar = document.getElementById('sync-bar');
        if (bar) {
            bar.dataset.attention = attention ? 'true' : 'false';
        }
        const list = document.getElementById('sync-list');
        if (list) {
            list.replaceChildren(...(records.length ? records.map(recordItem) : [el('li', { class: 'f-muted', text: t('empty') })]));
            const panel = document.getElementById('sync-panel');
            if (panel && attention && !panel.dataset.touched) {
                panel.open = true;
            }
        }
        markCards(mine);
        listeners.forEach((listener) => listener(records));
    }

    function recordItem(record) {
        const status = record.user === config.user ? record.status : 'other';
        const actions = el('div', { class: 'f-rec-actions' });
        const button = (action, label, primary) => el('button', {
            type: 'button', class: `f-btn small${primary ? ' primary' : ''}`, 'data-action': action, 'data-id': record.id, text: label,
        });
        if (status === 'confirm') {
            actions.append(button('confirm', t('confirm_submit'), true));
        }
        if (status === 'error') {
            actions.append(button('retry', t('retry')));
        }
        if (status === 'confirm' || status === 'error' || status === 'pending') {
            actions.append(el('a', { class: 'f-btn small', href: recordUrl(record.measure, record.id), 'data-action': 'edit', text: t('edit') }));
            actions.append(button('delete', t('delete')));
        }
        const warnings = (record.warnings || []).map((w) => el('li', { text: w.message }));
        return el('li', { class: `f-rec s-${status}`, 'data-record-id': record.id, 'data-status': status },
            el('div', { class: 'f-rec-head' },
                el('span', { class: 'f-rec-name', text: record.measureName || `#${record.measure}` }),
                el('span', { class: `f-badge s-${status}`, text: t(status) })),
            el('div', { class: 'f-rec-meta', text: `${hhmm(record.payload.occurred_at)}${record.photoCount ? ` · ${t('photos')} ${record.photoCount}` : ''}${record.late ? ` · ${t('late')}` : ''}${record.payload.source === 'offline' ? ` · ${t('offline')}` : ''}` }),
            record.message ? el('div', { class: 'f-rec-msg', text: record.message }) : null,
            warnings.length ? el('ul', { class: 'f-warnings' }, ...warnings) : null,
            actions.childElementCount ? actions : null);
    }

    function markCards(records) {
        // "done 10:32" on the measure cards for what this phone recorded in the last 12 hours
        const recent = new Map();
        for (const record of records) {
            if (Date.now() - record.createdAt < 12 * 3600 * 1000 && !recent.has(record.measure)) {
                recent.set(record.measure, record);
            }
        }
        document.querySelectorAll('[data-status-for]').forEach((node) => {
            const record = recent.get(Number(node.dataset.statusFor));
            node.textContent = record ? `✓ ${t('done_at', { time: hhmm(record.payload.occurred_at).slice(6) })} · ${t(record.status)}` : '';
            node.dataset.status = record ? record.status : '';
        });
    }

    document.addEventListener('click', async (event) => {
        const target = event.target.closest('[data-action]');
        if (!target || !target.closest('#sync-list')) {
            return;
        }
        const id = target.dataset.id;
        if (target.dataset.action === 'confirm') {
            event.preventDefault();
            await confirmAndResend(id);
        } else if (target.dataset.action === 'retry') {
            event.preventDefault();
            await resend(id);
        } else if (target.dataset.action === 'delete') {
            event.preventDefault();
            if (window.confirm(t('delete_ask'))) {
                await store.remove(id);
                await render();
            }
        }
    });

    // One-tap completion ---------------------------------------------------------------------------------

    document.addEventListener('submit', async (event) => {
        const form = event.target.closest('form.f-one-tap');
        if (!form) {
            return;
        }
        event.preventDefault();
        const button = form.querySelector('button');
        button.disabled = true;
        const now = new Date();
        const minute = new Date(now);
        minute.setSeconds(0, 0);
        const id = newId();
        const record = newRecord(id, Number(form.dataset.measure), form.dataset.name, {
            occurred_at: minute.toISOString(), entered_at: now.toISOString(), values: {}, compliant: null,
            checklist: {}, batch_no: '', remarks: '', late_reason: '',
            tag_scanned: form.elements.tag_scanned ? form.elements.tag_scanned.value : '', source: 'one_tap',
        });
        record.kind = 'one_tap';
        try {
            await store.save(record, []);
        } catch (error) {
            alert(t('not_saved', { error }));
            button.disabled = false;
            return;
        }
        await render();
        await sync.run({ force: true });
        setTimeout(() => { button.disabled = false; }, 3000);
    });

    // The record form -----------------------------------------------------------------------------------

    function initForm() {
        const form = document.getElementById('record-form');
        if (!form) {
            return;
        }
        form.noValidate = true;  // validity is checked below: the photo rule depends on the draft
        const grace = Number(form.dataset.grace || 60);
        const photoRequired = form.dataset.photoRequired === 'true';
        const occurred = form.elements.occurred_at;
        const lateField = document.getElementById('late-field');
        const lateReason = form.elements.late_reason;
        const photos = form.elements.photos;
        const thumbs = document.getElementById('photo-thumbs');
        const kept = document.getElementById('photos-kept');
        const submit = document.getElementById('record-submit');
        const result = document.getElementById('record-result');
        const resultText = document.getElementById('record-result-text');
        const resultList = document.getElementById('record-result-list');
        const confirmButton = document.getElementById('confirm-submit');
        const againButton = document.getElementById('record-again');
        const backLink = document.getElementById('back-home');
        const params = new URLSearchParams(location.search);
        let draftId = null;
        let draftPhotos = 0;
        let timeTouched = false;

        if (params.get('tag')) {
            form.elements.tag_scanned.value = params.get('tag');  // a cached page may have another
        }

        function updateLate() {
            const when = parseLocal(occurred.value);
            const late = !!when && Date.now() - when.getTime() > grace * 60000;
            lateField.hidden = !late;
            lateReason.required = late;
            return late;
        }

        function prefillNow() {
            if (!timeTouched && !draftId) {
                occurred.value = localMinute(new Date());
                updateLate();
            }
        }

        occurred.addEventListener('input', () => { timeTouched = true; updateLate(); });
        occurred.addEventListener('change', () => { timeTouched = true; updateLate(); });
        setInterval(updateLate, 30000);
        window.addEventListener('pageshow', prefillNow);

        photos.addEventListener('change', () => {
            thumbs.replaceChildren(...Array.from(photos.files || [], (file) => {
                const img = el('img', { alt: file.name, src: URL.createObjectURL(file) });
                img.onload = () => URL.revokeObjectURL(img.src);
                return img;
            }));
        });

        function clearErrors() {
            form.querySelectorAll('[data-error-for]').forEach((node) => { node.textContent = ''; });
            form.querySelectorAll('.f-field.invalid').forEach((node) => node.classList.remove('invalid'));
            ['server-errors', 'server-warnings'].forEach((nodeId) => {
                const node = document.getElementById(nodeId);
                if (node) {
                    node.remove();
                }
            });
        }

        function fieldError(field, message) {
            const node = form.querySelector(`[data-error-for="${CSS.escape(field)}"]`);
            if (node) {
                node.textContent = message;
                node.closest('.f-field').classList.add('invalid');
                return true;
            }
            return false;
        }

        function collect(id) {
            const values = {};
            form.querySelectorAll('[name^="v."]').forEach((input) => {
                const code = input.name.slice(2);
                if (input.type === 'radio') {
                    if (input.checked) {
                        values[code] = input.value === 'true';
                    }
                } else if (input.value.trim() !== '') {
                    const raw = input.value.trim();
                    values[code] = input.dataset.type === 'number' && !isNaN(Number(raw)) ? Number(raw) : raw;
                }
            });
            const compliantInput = form.querySelector('[name="compliant"]:checked');
            let checklist = {};
            if (form.querySelector('.f-checklist')) {
                checklist = {
                    ticked: Array.from(form.querySelectorAll('[name="ticked"]:checked'), (box) => Number(box.value)),
                    participants: form.elements.participants
                        ? form.elements.participants.value.split(/[,，、;；\s]+/).filter(Boolean) : [],
                };
            }
            const now = new Date();
            return {
                occurred_at: parseLocal(occurred.value).toISOString(), entered_at: now.toISOString(), values,
                compliant: compliantInput ? compliantInput.value === 'true' : null, checklist,
                batch_no: form.elements.batch_no.value.trim(), remarks: form.elements.remarks.value.trim(),
                late_reason: lateReason.value.trim(), tag_scanned: form.elements.tag_scanned.value,
                source: 'web', id,
            };
        }

        function showResult(text, items, buttons) {
            result.hidden = false;
            result.dataset.state = buttons.state;
            resultText.textContent = text;
            resultList.replaceChildren(...(items || []).map((message) => el('li', { text: message })));
            confirmButton.hidden = !buttons.confirm;
            againButton.hidden = !buttons.again;
            backLink.hidden = !buttons.again;
            form.hidden = !!buttons.hideForm;
        }

        async function showOutcome() {
            const record = draftId && await store.get(draftId);
            if (!record) {
                return;
            }
            if (record.status === 'sent') {
                showResult(t('saved_online'), [], { state: 'sent', again: true, hideForm: true });
            } else if (record.status === 'pending' || record.status === 'sending') {
                showResult(online ? t('saved_pending') : t('saved_offline'), record.message ? [record.message] : [],
                    { state: 'pending', again: true, hideForm: true });
            } else if (record.status === 'confirm') {
                showResult(t('check_values'), record.warnings.map((w) => w.message), { state: 'confirm', confirm: true });
                record.warnings.forEach((w) => fieldError(w.field, w.message));
            } else if (record.status === 'error') {
                const general = [];
                for (const error of record.errors || []) {
                    if (error.field === 'late_reason') {
                        lateField.hidden = false;
                        lateReason.required = true;
                    }
                    if (!fieldError(error.field, error.message)) {
                        general.push(error.message);
                    }
                }
                showResult(t('refused'), general.length ? general : [record.message], { state: 'error' });
            }
        }

        listeners.push((records) => {
            // the upload finished later (queued offline, or another tab sent it)
            if (!draftId || result.hidden || result.dataset.state !== 'pending') {
                return;
            }
            const record = records.find((r) => r.id === draftId);
            if (record && record.status === 'sent') {
                showResult(t('saved_online'), [], { state: 'sent', again: true, hideForm: true });
            }
        });

        confirmButton.addEventListener('click', async () => {
            confirmButton.disabled = true;
            clearErrors();
            await confirmAndResend(draftId);
            confirmButton.disabled = false;
            await showOutcome();
        });

        againButton.addEventListener('click', () => {
            form.reset();
            draftId = null;
            draftPhotos = 0;
            timeTouched = false;
            thumbs.replaceChildren();
            kept.hidden = true;
            clearErrors();
            result.hidden = true;
            form.hidden = false;
            if (params.get('tag')) {
                form.elements.tag_scanned.value = params.get('tag');
            }
            prefillNow();
            window.scrollTo(0, 0);
        });

        form.addEventListener('submit', async (event) => {
            event.preventDefault();
            clearErrors();
            updateLate();
            const files = Array.from(photos.files || []);
            photos.required = photoRequired && !draftPhotos;
            if (!form.reportValidity()) {
                return;
            }
            const id = draftId || newId();
            const record = newRecord(id, Number(form.dataset.measure), form.dataset.measureName, collect(id),
                files.length || draftPhotos);
            record.late = !lateField.hidden;
            submit.disabled = true;
            try {
                await store.save(record, files.length || !draftId ? files : null);
            } catch (error) {
                showResult(t('not_saved', { error }), [], { state: 'error' });
                submit.disabled = false;
                return;
            }
            draftId = id;  // saving again after a refusal keeps the same client UUID
            draftPhotos = record.photoCount;
            await render();
            await sync.run({ force: true });
            submit.disabled = false;
            await showOutcome();
        });

        async function loadDraft(id) {
            const record = await store.get(id);
            if (!record || record.status === 'sent' || record.user !== config.user) {
                return false;
            }
            draftId = record.id;
            draftPhotos = record.photoCount || 0;
            const p = record.payload;
            occurred.value = localMinute(new Date(p.occurred_at));
            for (const [code, value] of Object.entries(p.values || {})) {
                form.querySelectorAll(`[name="v.${CSS.escape(code)}"]`).forEach((input) => {
                    if (input.type === 'radio') {
                        input.checked = input.value === String(value);
                    } else {
                        input.value = value;
                    }
                });
            }
            form.querySelectorAll('[name="compliant"]').forEach((input) => { input.checked = p.compliant !== null && input.value === String(p.compliant); });
            const ticked = new Set((p.checklist && p.checklist.ticked) || []);
            form.querySelectorAll('[name="ticked"]').forEach((box) => { box.checked = ticked.has(Number(box.value)); });
            if (form.elements.participants) {
                form.elements.participants.value = ((p.checklist && p.checklist.participants) || []).join(', ');
            }
            form.elements.batch_no.value = p.batch_no || '';
            form.elements.remarks.value = p.remarks || '';
            lateReason.value = p.late_reason || '';
            form.elements.tag_scanned.value = p.tag_scanned || '';
            if (draftPhotos) {
                kept.hidden = false;
                kept.textContent = t('photos_kept', { count: draftPhotos });
            }
            updateLate();
            await showOutcome();
            return true;
        }

        const draft = params.get('draft');
        (draft ? loadDraft(draft) : Promise.resolve(false)).then((loaded) => {
            if (!loaded && !form.dataset.posted) {
                prefillNow();
            }
            updateLate();
        });
    }

    // "My work": search ---------------------------------------------------------------------------------

    function initSearch() {
        const input = document.getElementById('measure-search');
        if (!input) {
            return;
        }
        input.form.addEventListener('submit', (event) => event.preventDefault());
        const filter = () => {
            const words = input.value.trim().toLowerCase().split(/\s+/).filter(Boolean);
            let shown = 0;
            document.querySelectorAll('#all-measures .f-group').forEach((group) => {
                let visible = 0;
                group.querySelectorAll('.f-card').forEach((card) => {
                    const text = (card.dataset.search || '').toLowerCase();
                    const match = words.every((word) => text.includes(word));
                    card.hidden = !match;
                    visible += match ? 1 : 0;
                });
                group.hidden = visible === 0;
                shown += visible;
            });
            const none = document.getElementById('no-match');
            if (none) {
                none.hidden = shown > 0;
            }
        };
        input.addEventListener('input', filter);
        if (input.value) {
            filter();
        }
    }

    // Service worker and pages kept for offline use -----------------------------------------------

    async function keepPagesForOffline() {
        const registration = await navigator.serviceWorker.ready;
        const worker = registration.active;
        const links = Array.from(document.querySelectorAll('[data-offline-url]'), (node) => node.dataset.offlineUrl);
        if (!worker || !links.length || !(await probe())) {
            return;
        }
        const key = `greenledger-field-pages:${config.user}`;
        const last = Number(localStorage.getItem(key) || 0);
        const urls = Array.from(new Set([config.scope, ...links]));
        const reply = await new Promise((resolve) => {
            const channel = new MessageChannel();
            const timer = setTimeout(() => resolve(null), 60000);
            channel.port1.onmessage = (event) => { clearTimeout(timer); resolve(event.data); };
            worker.postMessage({ type: 'cache-pages', urls, onlyMissing: Date.now() - last < PAGES_REFRESH_MS }, [channel.port2]);
        });
        if (reply) {
            if (Date.now() - last >= PAGES_REFRESH_MS) {
                localStorage.setItem(key, String(Date.now()));
            }
            document.documentElement.dataset.offlineReady = 'true';
            document.documentElement.dataset.offlineVersion = reply.version;
        }
    }

    function registerWorker() {
        // service workers need a secure context: HTTPS, or localhost
        if (!('serviceWorker' in navigator) || !window.isSecureContext) {
            return;
        }
        navigator.serviceWorker.register(config.sw, { scope: config.scope, updateViaCache: 'none' })
            .then(() => keepPagesForOffline())
            .catch((error) => console.warn('field service worker', error));
    }

    // Start ---------------------------------------------------------------------------------------------

    function start() {
        document.querySelectorAll('[data-needs-js]').forEach((node) => { node.hidden = false; });
        const panel = document.getElementById('sync-panel');
        if (panel) {
            panel.addEventListener('toggle', () => { panel.dataset.touched = 'true'; });
        }
        const button = document.getElementById('sync-now');
        if (button) {
            button.addEventListener('click', async () => {
                button.disabled = true;
                await probe();
                await sync.run({ force: true });
                button.disabled = false;
            });
        }
        window.addEventListener('online', () => { probe(); sync.run({ force: true }); });
        window.addEventListener('offline', () => setOnline(false));
        document.addEventListener('visibilitychange', () => {
            if (document.visibilityState === 'visible') {
                sync.tick();
            }
        });
        setInterval(() => sync.tick(), TICK_MS);
        initForm();
        initSearch();
        registerWorker();
        cleanUp().then(render).then(() => probe()).then(() => sync.run());
    }

    window.GLField = {
        store, probe, render,
        sync: () => sync.run({ force: true }),
        resend,
        confirm: confirmAndResend,
        records: () => store.all(),
        state: () => ({ online, failures: sync.failures, nextAttemptAt: sync.nextAttemptAt }),
    };

    start();
}());
