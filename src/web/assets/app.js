/*
 * elog web view. Plain JavaScript, no framework, nothing loaded from elsewhere.
 *
 * The view is a window of records with contiguous ids (among those the filter matches):
 * scrolling to its top loads the page before its first id; live records come over the
 * WebSocket /api/follow?after=LAST and are appended at its bottom while following. Records
 * that arrive while the view is paused wait in `pending`; the view never has a hole.
 * At most MAX_ROWS rows stay in the DOM; rendering is batched once per animation frame.
 * The server's API: GET /api/components, /api/records, /api/context, /api/export and the
 * WebSocket /api/follow (see elog-serve(1)).
 */
'use strict';
(function () {
	var PAGE = 500;          /* records per history request */
	var MAX_ROWS = 2000;     /* rows kept in the DOM */
	var MAX_PENDING = 2000;  /* new records kept while paused (older ones: jump to live reloads) */
	var RENDER_MAX = 200;    /* rows added in one frame; a frame further behind starts the view
				    * again from the newest (scrolling up loads the others) */
	var CHUNK = 100;         /* rows per chunk: the browser lays out only the chunks in sight */
	var COMPS_EVERY = 3000;  /* ms between refreshes of the component list */
	var CONTEXT_N = 20;      /* records on each side for "show context" */
	var FIELDS_SHOWN = 12;   /* fields shown inline; all of them are in the details */
	var VALUE_SHOWN = 160;   /* characters of a field value shown inline */

	function $(id) { return document.getElementById(id); }
	var els = {
		search: $('search'), level: $('level'), range: $('range'), custom: $('custom-range'),
		since: $('since'), until: $('until'), follow: $('follow'), download: $('download'),
		dlMenu: $('download-menu'), dlJsonl: $('dl-jsonl'), dlCsv: $('dl-csv'),
		theme: $('theme'), status: $('status'), comps: $('comps'), compAll: $('comp-all'),
		notice: $('notice'), log: $('log'), rows: $('rows'), top: $('top-marker'),
		newCount: $('new-count'), detail: $('detail'), detailTitle: $('detail-title'),
		detailJson: $('detail-json'), detailCopy: $('detail-copy'),
		detailContext: $('detail-context'), detailClose: $('detail-close'),
		context: $('context'), contextRows: $('context-rows')
	};

	var st = {
		filt: { c: [], level: '', grep: '', since: '', until: '' },
		rows: [],          /* records in the view, ascending id; the rows of els.rows' chunks */
		lastId: 0,         /* highest id received (history or live): follow resumes after it */
		atTail: true,      /* the view's last row is the newest record received */
		following: true,
		pending: [],       /* live records not in the view yet (ascending) */
		newCount: 0,       /* arrived while paused, for "N new" */
		dropped: false,    /* pending overflowed: it is no longer contiguous with the view */
		drops: 0,          /* how many times it did */
		olderDone: false,  /* the view's first row is the first matching record */
		loadingOlder: false,
		gen: 0,            /* bumped by every reload: late answers of older requests are ignored */
		ws: null, wsTimer: 0, retries: 0, lostAt: null, connected: false,
		comps: new Map(),  /* name -> {name, count, last_seen, color, ansi, idx} */
		compIdx: 0, compSheet: null, compsDirty: false,
		selected: null,
		frameQueued: false
	};
	/* figures for tests and bench/web_follow.sh (read with selenium) */
	var stats = { received: 0, dups: 0, rendered: 0, dropped: 0, skipped: 0, frames: null, work: null, batch: null,
		measuring: false,
		reconnects: 0 };

	/* ---- filters and the URL ---------------------------------------------------------- */

	function readUrl() {
		var q = new URLSearchParams(location.search);
		var c = q.get('c');
		st.filt.c = c ? c.split(',').filter(Boolean) : [];
		st.filt.level = q.get('level') || '';
		st.filt.grep = q.get('grep') || '';
		st.filt.since = q.get('since') || '';
		st.filt.until = q.get('until') || '';
		if (q.get('follow') === '0')
			st.following = false;
	}

	/* the filter as query parameters, the same for every endpoint */
	function filterParams() {
		var q = new URLSearchParams();
		var f = st.filt;
		if (f.c.length) q.set('c', f.c.join(','));
		if (f.level) q.set('level', f.level);
		if (f.grep) q.set('grep', f.grep);
		if (f.since) q.set('since', f.since);
		if (f.until) q.set('until', f.until);
		return q;
	}

	function withParams(path, extra) {
		var q = filterParams();
		for (var k in extra)
			q.set(k, String(extra[k]));
		var s = q.toString();
		return s ? path + '?' + s : path;
	}

	function writeUrl() {
		var s = filterParams().toString();
		history.replaceState(null, '', location.pathname + (s ? '?' + s : ''));
		els.dlJsonl.href = withParams('/api/export', { format: 'jsonl' });
		els.dlCsv.href = withParams('/api/export', { format: 'csv' });
	}

	function showFilters() {
		var f = st.filt;
		els.search.value = f.grep;
		els.level.value = f.level;
		if (els.level.value !== f.level) {   /* a level the list does not have: add it */
			var o = document.createElement('option');
			o.value = o.textContent = f.level;
			els.level.appendChild(o);
			els.level.value = f.level;
		}
		var preset = !f.until && Array.prototype.some.call(els.range.options,
			function (o) { return o.value === f.since && o.value !== 'custom'; });
		els.range.value = preset ? f.since : 'custom';
		els.custom.hidden = preset;
		els.since.value = f.since;
		els.until.value = f.until;
	}

	function applyFilters() {
		writeUrl();
		renderComps();
		reload();
	}

	/* ---- server requests --------------------------------------------------------------- */

	function toLogin() {
		location.assign('/login?next=' + encodeURIComponent(location.pathname + location.search));
	}

	function api(path) {
		return fetch(path, { credentials: 'same-origin', headers: { Accept: 'application/json' } })
			.then(function (res) {
				if (res.status === 401) {
					toLogin();
					throw new Error('login needed');
				}
				return res.text().then(function (text) {
					var body = null;
					try { body = text ? JSON.parse(text) : null; } catch (e) { /* not JSON */ }
					if (!res.ok) {
						var msg = body && (body.error || body.message);
						throw new Error(msg || (res.status + ' ' + (text || res.statusText)).trim());
					}
					if (!body)
						throw new Error('not JSON from ' + path);
					return body;
				});
			});
	}

	/* ---- the notice line and the status -------------------------------------------------- */

	var noticeTimer = 0;
	function notice(text, kind, ms) {
		clearTimeout(noticeTimer);
		els.notice.textContent = text;
		els.notice.className = kind || '';
		els.notice.hidden = !text;
		if (text && ms)
			noticeTimer = setTimeout(function () { els.notice.hidden = true; }, ms);
	}

	var statusTimer = 0;
	function status() {
		if (statusTimer)
			return;
		statusTimer = setTimeout(function () {
			statusTimer = 0;
			var s = st.connected ? 'live' : (st.lostAt ? 'reconnecting…' : 'connecting…');
			s += ' · ' + st.rows.length.toLocaleString() + ' shown';
			if (st.lastId)
				s += ' · last #' + st.lastId;
			els.status.textContent = s;
			els.status.className = 'status ' + (st.connected ? 'live' : 'down');
		}, 250);
	}

	/* ---- components: colours, counts, toggles -------------------------------------------- */

	function compSheet() {
		if (!st.compSheet) {
			var s = document.createElement('style');
			document.head.appendChild(s);
			st.compSheet = s.sheet;
		}
		return st.compSheet;
	}

	/* a darker shade of a colour for the light theme (terminal colours are made for dark) */
	function darker(hex) {
		var m = /^#([0-9a-f]{6})$/i.exec(hex || '');
		if (!m)
			return hex;
		var n = parseInt(m[1], 16), out = '#';
		[16, 8, 0].forEach(function (sh) {
			var v = Math.round(((n >> sh) & 255) * 0.62);
			out += (v < 16 ? '0' : '') + v.toString(16);
		});
		return out;
	}

	/* the component's entry; a new name gets a class ci-N whose colour comes with the list */
	function comp(name) {
		var c = st.comps.get(name);
		if (!c) {
			c = { name: name, count: 0, last_seen: '', color: '', idx: st.compIdx++, rule: false };
			st.comps.set(name, c);
			st.compsDirty = true;
			refreshCompsSoon();
		}
		return c;
	}

	function setCompColor(c, color) {
		if (!color || c.color === color && c.rule)
			return;
		c.color = color;
		var sheet = compSheet();
		var sel = '.ci-' + c.idx;
		sheet.insertRule(sel + '{--cc:' + color + ';--ccl:' + darker(color) + '}', sheet.cssRules.length);
		c.rule = true;
	}

	var compsTimer = 0, compsSoon = 0;
	function refreshComps() {
		clearTimeout(compsTimer);
		api('/api/components').then(function (d) {
			(d.components || []).forEach(function (x) {
				var c = comp(x.name);
				c.count = x.count;
				c.last_seen = x.last_seen;
				c.ansi = x.ansi;
				setCompColor(c, x.color);
			});
			st.compsDirty = true;
			renderComps();
		}).catch(function (e) {
			if (!st.lostAt)
				notice('cannot read the components: ' + e.message, 'error', 5000);
		}).then(function () {
			compsTimer = setTimeout(refreshComps, COMPS_EVERY);
		});
	}
	function refreshCompsSoon() {
		if (compsSoon)
			return;
		compsSoon = setTimeout(function () { compsSoon = 0; refreshComps(); }, 300);
	}

	function ago(ts) {
		if (!ts)
			return '';
		var s = (Date.now() - Date.parse(ts)) / 1000;
		if (!isFinite(s))
			return '';
		if (s < 1) return 'now';
		if (s < 60) return Math.floor(s) + 's ago';
		if (s < 3600) return Math.floor(s / 60) + 'm ago';
		if (s < 86400) return Math.floor(s / 3600) + 'h ago';
		return Math.floor(s / 86400) + 'd ago';
	}

	function compShown(name) {
		return !st.filt.c.length || st.filt.c.indexOf(name) >= 0;
	}

	function renderComps() {
		var names = Array.from(st.comps.keys()).sort();
		var have = new Map();
		Array.prototype.forEach.call(els.comps.children, function (li) { have.set(li.dataset.name, li); });
		names.forEach(function (name, i) {
			var c = st.comps.get(name);
			var li = have.get(name);
			if (!li) {
				li = document.createElement('li');
				li.dataset.name = name;
				li.className = 'ci-' + c.idx;
				li.innerHTML = '<span class="sw"></span><span class="name"></span><span class="meta"></span>';
				li.querySelector('.name').textContent = name;
			}
			if (els.comps.children[i] !== li)
				els.comps.insertBefore(li, els.comps.children[i] || null);
			li.classList.toggle('off', !compShown(name));
			var meta = li.querySelector('.meta');
			meta.textContent = (c.count || 0).toLocaleString() + (c.last_seen ? ' · ' + ago(c.last_seen) : '');
			meta.title = c.last_seen ? 'last seen ' + c.last_seen : '';
			li.title = name + ': ' + (c.count || 0) + ' records; click to hide or show, alt-click to show only this';
		});
		st.compsDirty = false;
	}

	function toggleComp(name, only) {
		var all = Array.from(st.comps.keys());
		var sel = st.filt.c.length ? st.filt.c.slice() : all.slice();
		if (only) {
			sel = (st.filt.c.length === 1 && st.filt.c[0] === name) ? [] : [name];
		} else {
			var i = sel.indexOf(name);
			if (i >= 0) {
				if (sel.length === 1)
					return;   /* the last one shown stays: "all" shows every component again */
				sel.splice(i, 1);
			} else {
				sel.push(name);
			}
			if (all.every(function (n) { return sel.indexOf(n) >= 0; }))
				sel = [];
		}
		st.filt.c = sel.sort();
		applyFilters();
	}

	/* ---- rendering records ------------------------------------------------------------------ */

	var LEVEL_TEXT = { trace: 'TRACE', debug: 'DEBUG', info: 'INFO', warn: 'WARN', error: 'ERROR',
		fatal: 'FATAL' };
	function levelOf(r) {
		var l = String(r.level || 'info').toLowerCase();
		if (l === 'warning') l = 'warn';
		if (l === 'critical') l = 'fatal';
		return LEVEL_TEXT[l] ? l : 'info';
	}

	function pad(n, w) {
		var s = String(n);
		while (s.length < w)
			s = '0' + s;
		return s;
	}
	var today = '';
	function timeText(ts) {
		var d = new Date(ts);
		if (isNaN(d))
			return String(ts || '');
		var day = d.getFullYear() + '-' + pad(d.getMonth() + 1, 2) + '-' + pad(d.getDate(), 2);
		var t = pad(d.getHours(), 2) + ':' + pad(d.getMinutes(), 2) + ':' + pad(d.getSeconds(), 2) +
			'.' + pad(d.getMilliseconds(), 3);
		return day === today ? t : day + ' ' + t;
	}
	function setToday() {
		var d = new Date();
		today = d.getFullYear() + '-' + pad(d.getMonth() + 1, 2) + '-' + pad(d.getDate(), 2);
	}

	function valueText(v) {
		var s;
		if (typeof v === 'string')
			s = /[\s"=]/.test(v) || v === '' ? JSON.stringify(v) : v;
		else
			s = JSON.stringify(v);
		if (s === undefined)
			s = String(v);
		return s.length > VALUE_SHOWN ? s.slice(0, VALUE_SHOWN) + '…' : s;
	}

	var ESC = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' };
	function esc(s) {
		s = String(s);
		return /[&<>"]/.test(s) ? s.replace(/[&<>"]/g, function (ch) { return ESC[ch]; }) : s;
	}

	/* one record as HTML (every text escaped): a frame's batch becomes one insertAdjacentHTML,
	 * one parse instead of a dozen DOM calls a record */
	function rowHtml(r) {
		var lv = levelOf(r);
		var name = r.component == null ? '' : String(r.component);
		var c = comp(name);
		var h = '<div class="row ci-' + c.idx + ' l-' + lv + '" data-id="' + esc(r.id) +
			'"><span class="ts" title="' + esc(r.ts) + '">' + esc(timeText(r.ts)) +
			'</span> <span class="comp" title="' + esc(name) + '">' + esc(name) +
			'</span> <span class="lv lv-' + lv + '">' + LEVEL_TEXT[lv] +
			'</span> <span class="body">' + esc(r.msg == null ? '' : r.msg);
		var f = r.fields;
		if (f && typeof f === 'object') {
			var keys = Object.keys(f), n = Math.min(keys.length, FIELDS_SHOWN);
			if (n) {
				var parts = [];
				for (var i = 0; i < n; i++)
					parts.push(keys[i] + '=' + valueText(f[keys[i]]));
				if (keys.length > n)
					parts.push('+' + (keys.length - n) + ' more');
				h += '<span class="f">  ' + esc(parts.join(' ')) + '</span>';
			}
		}
		/* the spaces between the cells are not drawn (flex items) but make copied text readable */
		return h + '</span></div>';
	}

	/* The view's rows live in chunks of CHUNK rows (content-visibility: auto), so appending or
	 * trimming costs the layout of the chunks in sight, not of all MAX_ROWS rows. */
	function newChunk() {
		var ch = document.createElement('div');
		ch.className = 'chunk';
		return ch;
	}
	/* a closer guess than the CSS one for an older chunk not laid out yet (set once: a style
	 * change makes the browser lay the chunk out again) */
	function chunkSize(ch) {
		ch.style.containIntrinsicSize = 'auto ' + Math.round(ch.childElementCount * 20.5) + 'px';
	}
	function appendDom(recs) {
		for (var i = 0; i < recs.length;) {
			var ch = els.rows.lastElementChild;
			var room = ch ? CHUNK - ch.childElementCount : 0;
			if (room <= 0) {
				ch = els.rows.appendChild(newChunk());
				room = CHUNK;
			}
			var part = recs.slice(i, i + room);
			insertRows(ch, 'beforeend', part);
			i += part.length;
		}
	}
	function prependDom(recs) {
		for (var j = recs.length; j > 0;) {
			var ch = els.rows.firstElementChild;
			var room = ch ? CHUNK - ch.childElementCount : 0;
			if (room <= 0) {
				ch = els.rows.insertBefore(newChunk(), els.rows.firstElementChild);
				room = CHUNK;
			}
			var part = recs.slice(Math.max(0, j - room), j);
			insertRows(ch, 'afterbegin', part);
			chunkSize(ch);
			j -= part.length;
		}
	}
	/* removes n rows from the top (top true) or the bottom of the view's DOM */
	function trimDom(n, top) {
		while (n > 0) {
			var ch = top ? els.rows.firstElementChild : els.rows.lastElementChild;
			if (!ch)
				return;
			var c = ch.childElementCount;
			if (c <= n) {
				els.rows.removeChild(ch);
				n -= c;
				continue;
			}
			for (; n > 0; n--)
				ch.removeChild(top ? ch.firstElementChild : ch.lastElementChild);
		}
	}

	/* inserts the rows of recs at where ('beforeend' or 'afterbegin') of parent; each row
	 * element gets its record as _rec (for clicks) */
	function insertRows(parent, where, recs) {
		var h = '';
		for (var i = 0; i < recs.length; i++)
			h += rowHtml(recs[i]);
		var before = where === 'afterbegin' ? null : parent.lastElementChild;
		parent.insertAdjacentHTML(where, h);
		var el = where === 'afterbegin' ? parent.firstElementChild :
			(before ? before.nextElementSibling : parent.firstElementChild);
		for (var k = 0; k < recs.length && el; k++, el = el.nextElementSibling)
			el._rec = recs[k];
	}

	function distFromBottom() {
		var l = els.log;
		return l.scrollHeight - l.scrollTop - l.clientHeight;
	}
	var ownTop = 0;   /* where the view last put the scroll position itself */
	var userScrollAt = -1e9;   /* when the user last used wheel, touch, pointer or keys on the log */
	function toBottom() {
		els.log.scrollTop = els.log.scrollHeight;
		ownTop = els.log.scrollTop;
	}

	function updateTop() {
		var t = st.loadingOlder ? 'loading older records…' :
			st.olderDone ? (st.rows.length ? 'beginning of the history for this filter' :
				'no records match this filter yet') :
			'scroll up for older records';
		if (els.top.textContent !== t)
			els.top.textContent = t;
	}

	function clearView() {
		els.rows.textContent = '';
		st.rows = [];
		st.olderDone = false;
		ownTop = 0;   /* the scroll position went up, but not by the user's hand */
	}

	/* appends records (ascending, newer than the view) and trims the top to MAX_ROWS */
	function appendRows(recs) {
		if (!recs.length)
			return;
		if (recs.length > MAX_ROWS) {
			clearView();
			recs = recs.slice(recs.length - MAX_ROWS);
		}
		var last = st.rows.length ? st.rows[st.rows.length - 1].id : -1, add = [];
		for (var i = 0; i < recs.length; i++) {
			if (recs[i].id <= last) {
				stats.dups++;
				continue;
			}
			last = recs[i].id;
			add.push(recs[i]);
			st.rows.push(recs[i]);
		}
		stats.rendered += add.length;
		appendDom(add);
		var extra = st.rows.length - MAX_ROWS;
		if (extra > 0) {
			st.rows.splice(0, extra);
			trimDom(extra, true);
			st.olderDone = false;
		}
		updateTop();
		status();
	}

	/* prepends an older page, keeping what the user looks at in place; trims the bottom */
	function prependRows(recs) {
		var first = st.rows.length ? st.rows[0].id : Infinity;
		recs = recs.filter(function (r) { return r.id < first; });
		if (!recs.length)
			return;
		var h0 = els.log.scrollHeight, top0 = els.log.scrollTop;
		prependDom(recs);
		st.rows = recs.concat(st.rows);
		var extra = st.rows.length - MAX_ROWS;
		if (extra > 0) {
			st.rows.length = MAX_ROWS;
			trimDom(extra, false);
			st.atTail = false;   /* the newest rows left the view: back to live reloads them */
		}
		els.log.scrollTop = top0 + (els.log.scrollHeight - h0);
		status();
	}

	/* ---- live records and rendering in frames ---------------------------------------------- */

	function onLive(recs) {
		for (var i = 0; i < recs.length; i++) {
			var r = recs[i];
			stats.received++;
			if (typeof r.id !== 'number' || r.id <= st.lastId) {
				stats.dups++;
				continue;
			}
			st.lastId = r.id;
			var c = comp(r.component || '');
			c.count = (c.count || 0) + 1;
			c.last_seen = r.ts;
			st.pending.push(r);
			if (!st.following)
				st.newCount++;
		}
		if (st.pending.length > MAX_PENDING) {
			var drop = st.pending.length - MAX_PENDING;
			st.pending.splice(0, drop);
			stats.dropped += drop;
			st.dropped = true;
			st.drops++;
		}
		st.compsDirty = true;
		queueFrame();
		if (!st.following)
			showNew();
	}

	function queueFrame() {
		if (!st.frameQueued) {
			st.frameQueued = true;
			requestAnimationFrame(frame);
		}
	}

	var lastCompsRender = 0;
	function frame(now) {
		var t0 = stats.measuring ? performance.now() : 0;
		st.frameQueued = false;
		if (st.following && st.atTail && st.pending.length) {
			var batch = st.pending;
			st.pending = [];
			if (batch.length > RENDER_MAX) {   /* behind: show the newest, let the others go */
				stats.skipped += batch.length - RENDER_MAX;
				batch = batch.slice(batch.length - RENDER_MAX);
				st.dropped = true;
			}
			if (st.dropped) {   /* records between the view and the batch were let go */
				clearView();
				st.dropped = false;
			}
			appendRows(batch);
			toBottom();
			if (stats.measuring) {
				stats.work.push(performance.now() - t0);
				stats.batch.push(batch.length);
			}
		}
		if (st.compsDirty && now - lastCompsRender > 1000) {
			lastCompsRender = now;
			renderComps();
		}
	}

	function showNew() {
		if (st.following) {
			els.newCount.hidden = true;
			return;
		}
		els.newCount.hidden = false;
		els.newCount.textContent = st.newCount ? st.newCount.toLocaleString() + ' new ↓' : 'back to live ↓';
	}

	function setFollow(on) {
		if (on === st.following)
			return;
		st.following = on;
		els.follow.classList.toggle('on', on);
		if (on) {
			st.newCount = 0;
			if (!st.atTail || st.dropped) {
				st.atTail = false;   /* nothing is drawn until the newest page is there */
				jumpToTail();
			}
			else
				queueFrame();
			toBottom();
		}
		showNew();
	}

	/* shows the newest records again after the view left the tail (loaded older pages, or
	 * pending overflowed while paused): the newest page up to lastId, then live as before */
	function jumpToTail() {
		var g = st.gen, upto = st.lastId, drops = st.drops;
		fetchPage({ before: upto + 1, limit: PAGE }).then(function (d) {
			if (g !== st.gen)
				return;
			if (st.drops !== drops) {
				/* live records were let go meanwhile: the page would not join them; what
				 * is pending is the newest run without a hole, it alone starts the view */
				clearView();
				st.dropped = false;
				st.atTail = true;
				queueFrame();
				return;
			}
			clearView();
			st.pending = st.pending.filter(function (r) { return r.id > upto; });
			st.dropped = false;
			st.atTail = true;
			appendRows(d.records || []);
			st.olderDone = !d.more;
			updateTop();
			toBottom();
			queueFrame();
		}).catch(function (e) {
			if (g === st.gen)
				notice('cannot load the newest records: ' + e.message, 'error');
		});
	}

	function fetchPage(extra) {
		return api(withParams('/api/records', extra));
	}

	function loadOlder() {
		if (st.loadingOlder || st.olderDone || !st.rows.length)
			return;
		var g = st.gen, before = st.rows[0].id;
		st.loadingOlder = true;
		updateTop();
		fetchPage({ before: before, limit: PAGE }).then(function (d) {
			st.loadingOlder = false;
			if (g !== st.gen || !st.rows.length || st.rows[0].id !== before) {
				updateTop();
				return;
			}
			prependRows(d.records || []);
			st.olderDone = !d.more || !(d.records || []).length;
			updateTop();
		}).catch(function (e) {
			st.loadingOlder = false;
			updateTop();
			if (g === st.gen)
				notice('cannot load older records: ' + e.message, 'error', 6000);
		});
	}

	/* ---- the WebSocket ---------------------------------------------------------------------- */

	function closeWs() {
		clearTimeout(st.wsTimer);
		if (st.ws) {
			var w = st.ws;
			st.ws = null;
			w.onopen = w.onmessage = w.onclose = w.onerror = null;
			try { w.close(); } catch (e) { /* already closed */ }
		}
		st.connected = false;
	}

	function connect() {
		closeWs();
		var g = st.gen;
		var proto = location.protocol === 'https:' ? 'wss://' : 'ws://';
		var url = proto + location.host + withParams('/api/follow', { after: st.lastId });
		var w = new WebSocket(url);
		var opened = false;
		st.ws = w;
		w.onopen = function () {
			if (g !== st.gen || st.ws !== w)
				return;
			opened = true;
			st.connected = true;
			st.retries = 0;
			if (st.lostAt) {
				stats.reconnects++;
				notice('reconnected at ' + timeText(new Date().toISOString()) + ' (connection lost at ' +
					st.lostAt + '): resumed after record #' + st.lastId + ', no record missed or repeated',
					'', 15000);
				st.lostAt = null;
			}
			status();
		};
		w.onmessage = function (ev) {
			if (g !== st.gen || st.ws !== w)
				return;
			var m;
			try { m = JSON.parse(ev.data); } catch (e) { return; }
			if (m.type === 'records' && Array.isArray(m.records))
				onLive(m.records);
			else if (m.type === 'gap')   /* the server reads the range back: nothing is lost */
				notice('the live stream fell behind' + (m.from ? ' at #' + m.from : '') +
					'; the records in between are read back from the history' +
					(m.message ? ' (' + m.message + ')' : ''), '', 8000);
			else if (m.type === 'error')
				notice('server: ' + (m.error || m.message || 'error'), 'error');
		};
		w.onclose = function (ev) {
			if (g !== st.gen || st.ws !== w)
				return;
			st.ws = null;
			st.connected = false;
			if (!st.lostAt)
				st.lostAt = timeText(new Date().toISOString());
			var wait = Math.min(250 * Math.pow(2, st.retries), 2000);
			st.retries++;
			notice('connection to elog serve lost at ' + st.lostAt + (ev.reason ? ' (' + ev.reason + ')' : '') +
				'; reconnecting (attempt ' + st.retries + ')…', 'error');
			status();
			if (!opened && st.retries === 3)
				api('/api/components').catch(function () { /* a 401 goes to the login page */ });
			st.wsTimer = setTimeout(connect, wait);
		};
	}

	/* ---- loading a view ----------------------------------------------------------------------- */

	/* (re)starts the view for the current filter: the newest page, then live after it */
	function reload() {
		st.gen++;
		var g = st.gen;
		closeWs();
		clearView();
		st.pending = [];
		st.dropped = false;
		st.newCount = 0;
		st.atTail = true;
		st.lastId = 0;
		st.loadingOlder = false;
		showNew();
		updateTop();
		els.top.textContent = 'loading…';
		/* the newest id of all, then the filtered page up to it and live after it: a record
		 * stored in between is in one of the two, never in both */
		api('/api/records?limit=1').then(function (head) {
			if (g !== st.gen)
				return null;
			var hr = head.records || [];
			st.lastId = hr.length ? hr[hr.length - 1].id : 0;
			if (!st.lastId)
				return { records: [], more: false };
			return fetchPage({ before: st.lastId + 1, limit: PAGE });
		}).then(function (d) {
			if (!d || g !== st.gen)
				return;
			appendRows(d.records || []);
			st.olderDone = !d.more;
			updateTop();
			toBottom();
			connect();
			if (!st.following)
				showNew();
		}).catch(function (e) {
			if (g !== st.gen)
				return;
			notice('cannot load records: ' + e.message, 'error');
			els.top.textContent = '';
			if (!st.lostAt)
				st.lostAt = timeText(new Date().toISOString());
			st.wsTimer = setTimeout(function () { if (g === st.gen) reload(); }, 2000);
		});
	}

	/* ---- the details panel -------------------------------------------------------------------- */

	function selectRecord(r, fromContext) {
		st.selected = r;
		els.detail.hidden = false;
		els.detailTitle.textContent = '#' + r.id + ' · ' + r.component + ' · ' + levelOf(r);
		els.detailJson.textContent = JSON.stringify(r, null, 2);
		Array.prototype.forEach.call(els.rows.querySelectorAll('.row.sel'),
			function (e) { e.classList.remove('sel'); });
		var el = els.rows.querySelector('.row[data-id="' + r.id + '"]');
		if (el)
			el.classList.add('sel');
		if (!fromContext) {
			els.context.hidden = true;
			els.contextRows.textContent = '';
		}
	}

	function closeDetail() {
		els.detail.hidden = true;
		st.selected = null;
		Array.prototype.forEach.call(els.rows.querySelectorAll('.row.sel'),
			function (e) { e.classList.remove('sel'); });
	}

	function copyText(text) {
		function fallback() {
			var ta = document.createElement('textarea');
			ta.value = text;
			ta.style.position = 'fixed';
			ta.style.opacity = '0';
			document.body.appendChild(ta);
			ta.select();
			var ok = false;
			try { ok = document.execCommand('copy'); } catch (e) { /* refused */ }
			document.body.removeChild(ta);
			return ok ? Promise.resolve() : Promise.reject(new Error('the browser refused'));
		}
		if (navigator.clipboard && window.isSecureContext)
			return navigator.clipboard.writeText(text).catch(fallback);
		return fallback();
	}

	function showContext() {
		var r = st.selected;
		if (!r)
			return;
		els.context.hidden = false;
		els.contextRows.textContent = 'loading…';
		api('/api/context?id=' + encodeURIComponent(r.id) + '&n=' + CONTEXT_N).then(function (d) {
			if (st.selected !== r && st.selected && st.selected.id !== r.id)
				return;
			els.contextRows.textContent = '';
			insertRows(els.contextRows, 'beforeend', d.records || []);
			var focus = els.contextRows.querySelector('.row[data-id="' + r.id + '"]');
			if (focus)
				focus.classList.add('focus');
			if (focus)
				focus.scrollIntoView({ block: 'center' });
		}).catch(function (e) {
			els.contextRows.textContent = 'cannot load the context: ' + e.message;
		});
	}

	/* ---- events ---------------------------------------------------------------------------------- */

	var grepTimer = 0;
	function setGrep(v, now) {
		clearTimeout(grepTimer);
		var apply = function () {
			if (st.filt.grep === v)
				return;
			st.filt.grep = v;
			applyFilters();
		};
		if (now)
			apply();
		else
			grepTimer = setTimeout(apply, 400);
	}

	function bind() {
		els.search.addEventListener('input', function () { setGrep(els.search.value, false); });
		els.search.addEventListener('keydown', function (e) {
			if (e.key === 'Enter')
				setGrep(els.search.value, true);
		});
		els.level.addEventListener('change', function () {
			st.filt.level = els.level.value;
			applyFilters();
		});
		els.range.addEventListener('change', function () {
			if (els.range.value === 'custom') {
				els.custom.hidden = false;
				els.since.focus();
				return;
			}
			els.custom.hidden = true;
			st.filt.since = els.range.value;
			st.filt.until = '';
			applyFilters();
		});
		[els.since, els.until].forEach(function (inp) {
			inp.addEventListener('change', function () {
				st.filt.since = els.since.value.trim();
				st.filt.until = els.until.value.trim();
				applyFilters();
			});
		});
		els.follow.addEventListener('click', function () { setFollow(!st.following); });
		els.newCount.addEventListener('click', function () { setFollow(true); });
		els.download.addEventListener('click', function (e) {
			e.stopPropagation();
			els.dlMenu.hidden = !els.dlMenu.hidden;
		});
		document.addEventListener('click', function () { els.dlMenu.hidden = true; });
		els.theme.addEventListener('click', function () {
			var t = document.documentElement.getAttribute('data-theme') === 'light' ? 'dark' : 'light';
			document.documentElement.setAttribute('data-theme', t);
			try { localStorage.setItem('elog-theme', t); } catch (e) { /* storage off */ }
		});
		els.comps.addEventListener('click', function (e) {
			var li = e.target.closest('li');
			if (li)
				toggleComp(li.dataset.name, e.altKey || e.shiftKey);
		});
		els.compAll.addEventListener('click', function () {
			if (!st.filt.c.length)
				return;
			st.filt.c = [];
			applyFilters();
		});
		els.rows.addEventListener('click', function (e) {
			var row = e.target.closest('.row');
			if (row && row._rec && !window.getSelection().toString())
				selectRecord(row._rec, false);
		});
		els.contextRows.addEventListener('click', function (e) {
			var row = e.target.closest('.row');
			if (row && row._rec)
				selectRecord(row._rec, true);
		});
		els.detailClose.addEventListener('click', closeDetail);
		els.detailContext.addEventListener('click', showContext);
		els.detailCopy.addEventListener('click', function () {
			if (!st.selected)
				return;
			copyText(JSON.stringify(st.selected, null, 2)).then(function () {
				els.detailCopy.textContent = 'copied';
			}, function (e) {
				els.detailCopy.textContent = 'copy failed: ' + e.message;
			}).then(function () {
				setTimeout(function () { els.detailCopy.textContent = 'copy'; }, 1500);
			});
		});
		els.top.addEventListener('click', loadOlder);
		/* a scroll the user made (not one the view made, nor one queued before f paused) */
		['wheel', 'touchmove', 'pointerdown', 'keydown'].forEach(function (ev) {
			els.log.addEventListener(ev, function () { userScrollAt = performance.now(); },
				{ passive: true });
		});
		els.log.addEventListener('scroll', function () {
			/* up from where following put it is the user; rows below getting their real
			 * height (content-visibility) only make the distance to the bottom grow */
			var d = distFromBottom();
			if (st.following && els.log.scrollTop < ownTop - 40)
				setFollow(false);
			else if (!st.following && d < 2 && st.atTail && !st.dropped &&
				 performance.now() - userScrollAt < 1000)
				setFollow(true);   /* the user scrolled back down to the newest */
			if (els.log.scrollTop < 300)
				loadOlder();
		}, { passive: true });
		document.addEventListener('keydown', function (e) {
			var t = e.target, typing = t && (t.tagName === 'INPUT' || t.tagName === 'SELECT' ||
				t.tagName === 'TEXTAREA');
			if (e.key === 'Escape') {
				if (!els.dlMenu.hidden) {
					els.dlMenu.hidden = true;
				} else if (!els.detail.hidden) {
					closeDetail();
				} else if (els.search.value || st.filt.grep) {
					els.search.value = '';
					setGrep('', true);
				}
				if (typing)
					t.blur();
				return;
			}
			if (typing || e.ctrlKey || e.metaKey || e.altKey)
				return;
			if (e.key === '/') {
				e.preventDefault();
				els.search.focus();
				els.search.select();
			} else if (e.key === 'f') {
				e.preventDefault();
				setFollow(!st.following);
			}
		});
		setInterval(function () { setToday(); st.compsDirty = true; queueFrame(); }, 5000);
	}

	/* ---- measuring (bench/web_follow.sh and the tests read this with selenium) ------------------ */

	function measure(on) {
		if (on) {
			stats.frames = [];
			stats.work = [];
			stats.batch = [];
			stats.measuring = true;
			var prev = performance.now();
			var tick = function (now) {
				if (!stats.measuring)
					return;
				stats.frames.push(now - prev);
				prev = now;
				requestAnimationFrame(tick);
			};
			requestAnimationFrame(tick);
			return null;
		}
		stats.measuring = false;
		var f = (stats.frames || []).slice().sort(function (a, b) { return a - b; });
		var q = function (p) { return f.length ? f[Math.min(f.length - 1, Math.floor(p * f.length))] : 0; };
		var w = stats.work.slice().sort(function (a, b) { return a - b; });
		var bsum = stats.batch.reduce(function (a, x) { return a + x; }, 0);
		return {
			/* script time of the frames that rendered records, and records per such frame */
			renders: w.length, work50: w.length ? w[w.length >> 1] : 0,
			work95: w.length ? w[Math.floor(w.length * 0.95)] : 0, workMax: w.length ? w[w.length - 1] : 0,
			perRender: w.length ? bsum / w.length : 0,
			frames: f.length, p50: q(0.5), p95: q(0.95), p99: q(0.99), max: f.length ? f[f.length - 1] : 0,
			over50: f.filter(function (x) { return x > 50; }).length,
			dropped: f.reduce(function (a, x) { return a + Math.max(0, Math.round(x / 16.67) - 1); }, 0)
		};
	}

	window.elog = {
		state: function () {
			return {
				connected: st.connected, following: st.following, atTail: st.atTail,
				lastId: st.lastId, rows: st.rows.length, firstId: st.rows.length ? st.rows[0].id : null,
				pending: st.pending.length, newCount: st.newCount, olderDone: st.olderDone,
				loadingOlder: st.loadingOlder, filter: JSON.parse(JSON.stringify(st.filt)),
				received: stats.received, dups: stats.dups, rendered: stats.rendered,
				droppedPending: stats.dropped, skipped: stats.skipped, reconnects: stats.reconnects
			};
		},
		ids: function () { return st.rows.map(function (r) { return r.id; }); },
		measure: measure
	};

	/* rows get their real height after layout: stay at the bottom while following */
	if (window.ResizeObserver)
		new ResizeObserver(function () {
			if (st.following && st.atTail)
				toBottom();
		}).observe(els.rows);

	setToday();
	readUrl();
	showFilters();
	writeUrl();
	els.follow.classList.toggle('on', st.following);
	bind();
	refreshComps();
	reload();
})();
