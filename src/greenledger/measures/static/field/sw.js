/* GreenLedger field app service worker (scope /m/), after Enketo's offline-app-worker.
 *
 * Served by greenledger.measures.field_views.service_worker, which prepends VERSION (a hash of
 * this file and the files in PRECACHE), SCOPE, PRECACHE and NETWORK_ONLY.
 *
 * - install: precache the app shell (field.js, field.css, icon) with cache: 'reload', and the
 *   "my work" page when the person is logged in;
 * - activate: delete every older field cache, take control of open pages;
 * - fetch: GET only. Shell files cache-first; pages under the scope network-first (a copy is
 *   kept for offline use, a slow network falls back to the copy); /api/ and the ping are never
 *   touched. POST and other methods are never intercepted: the page's IndexedDB queue owns them.
 * - message {type: 'cache-pages', urls, onlyMissing}: fetch and keep pages a person may need
 *   offline (the record forms and tag pages listed on "my work").
 */
/* global VERSION, SCOPE, PRECACHE, NETWORK_ONLY */
'use strict';

const PREFIX = 'gl-field-';
const SHELL_CACHE = `${PREFIX}shell-${VERSION}`;
const PAGE_CACHE = `${PREFIX}pages-${VERSION}`;
const SLOW_NETWORK_MS = 6000;

self.addEventListener('install', (event) => {
    event.waitUntil((async () => {
        const shell = await caches.open(SHELL_CACHE);
        await shell.addAll(PRECACHE.map((url) => new Request(url, { cache: 'reload' })));
        await cachePage(new Request(SCOPE, { cache: 'reload', credentials: 'same-origin' }));
        await self.skipWaiting();
    })());
});

self.addEventListener('activate', (event) => {
    event.waitUntil((async () => {
        const names = await caches.keys();
        await Promise.all(names
            .filter((name) => name.startsWith(PREFIX) && name !== SHELL_CACHE && name !== PAGE_CACHE)
            .map((name) => caches.delete(name)));
        await self.clients.claim();
    })());
});

self.addEventListener('fetch', (event) => {
    const request = event.request;
    if (request.method !== 'GET') {
        return; // never intercept POST: records go through the page's queue
    }
    const url = new URL(request.url);
    if (url.origin !== self.location.origin || NETWORK_ONLY.some((path) => url.pathname.startsWith(path))) {
        return;
    }
    if (PRECACHE.includes(url.pathname)) {
        event.respondWith(cacheFirst(request));
    } else if (url.pathname.startsWith(SCOPE)) {
        event.respondWith(networkFirst(request));
    }
});

self.addEventListener('message', (event) => {
    const data = event.data || {};
    if (data.type !== 'cache-pages' || !Array.isArray(data.urls)) {
        return;
    }
    const reply = event.ports && event.ports[0];
    event.waitUntil((async () => {
        const pages = await caches.open(PAGE_CACHE);
        let cached = 0;
        for (const url of data.urls.slice(0, 300)) {
            const target = new URL(url, self.location.href);
            if (target.origin !== self.location.origin || !target.pathname.startsWith(SCOPE)) {
                continue;
            }
            if (data.onlyMissing && await pages.match(target.href, { ignoreVary: true })) {
                cached += 1;
                continue;
            }
            if (await cachePage(new Request(target.href, { cache: 'no-cache', credentials: 'same-origin' }))) {
                cached += 1;
            }
        }
        if (reply) {
            reply.postMessage({ type: 'cached-pages', cached, version: VERSION });
        }
    })());
});

async function cachePage(request) {
    try {
        const response = await fetch(request);
        if (storable(response)) {
            await (await caches.open(PAGE_CACHE)).put(request.url, response);
            return true;
        }
    } catch (error) {
        // offline or refused: keep whatever copy we had
    }
    return false;
}

function storable(response) {
    // not a redirect to the login page, not an error page, not someone else's origin
    return response && response.ok && response.type === 'basic' && !response.redirected;
}

async function cacheFirst(request) {
    const cached = await caches.match(request, { cacheName: SHELL_CACHE, ignoreSearch: true, ignoreVary: true });
    return cached || fetch(request);
}

async function cachedPage(request) {
    const cache = await caches.open(PAGE_CACHE);
    return (await cache.match(request, { ignoreVary: true }))
        || (await cache.match(request, { ignoreVary: true, ignoreSearch: true }));
}

function networkFirst(request) {
    return new Promise((resolve) => {
        let settled = false;
        const settle = (response) => {
            if (!settled && response) {
                settled = true;
                resolve(response);
            }
        };
        const slow = setTimeout(async () => settle(await cachedPage(request)), SLOW_NETWORK_MS);
        fetch(request).then((response) => {
            clearTimeout(slow);
            if (storable(response)) {
                const copy = response.clone();
                caches.open(PAGE_CACHE).then((cache) => cache.put(request.url, copy));
            }
            settle(response);
        }).catch(async () => {
            clearTimeout(slow);
            settle((await cachedPage(request)) || offlinePage());
        });
    });
}

function offlinePage() {
    const html = '<!DOCTYPE html><html lang="zh-Hans"><meta charset="utf-8">'
        + '<meta name="viewport" content="width=device-width, initial-scale=1">'
        + '<title>离线 Offline</title><body style="font-family:system-ui,sans-serif;padding:24px">'
        + '<h1 style="font-size:20px">离线：此页面尚未保存在手机上</h1>'
        + '<p>Offline: this page has not been saved on this phone yet.</p>'
        + `<p><a href="${SCOPE}">返回我的工作 · Back to my work</a></p></body></html>`;
    return new Response(html, { status: 503, headers: { 'Content-Type': 'text/html; charset=utf-8' } });
}
