// The fleet page's stylesheet, served as /ui/style.css: the box page's, and the fleet table's
// colours (the issue's: active green, passive yellow, suspended / non-functional / tentative red,
// unreachable grey).
import { STYLE } from '../../api/status-page/style.js';

export const FLEET_STYLE = `${STYLE}
:root { --passive: #bf8700; --unreachable: #8c959f; }
.filters { margin: .6rem 0; display: flex; flex-wrap: wrap; gap: .4rem; align-items: center; }
.filters a.filter { padding: 0 .5rem; border: 1px solid var(--line); border-radius: 3px; text-decoration: none; }
.filters a.filter.on { background: #0969da; color: #fff; border-color: #0969da; }
table.fleet { width: 100%; }
table.fleet tbody.pair-block { border-top: 2px solid var(--line); }
table.fleet tbody.pair-block.open { outline: 2px solid #0969da; }
table.fleet tr.pair-row td { font-weight: 600; padding-top: .5rem; }
table.fleet tr.member td:first-child { padding-left: 1.5rem; }
table.fleet td { white-space: normal; vertical-align: top; }
.label { display: inline-block; padding: 0 .3rem; border-radius: 3px; background: var(--line); font-weight: 400; font-size: .9em; }
.problems { font-weight: 400; color: var(--warn); }
.tone { display: inline-block; padding: 0 .4rem; border-radius: 3px; color: #fff; font-weight: 700; text-transform: uppercase; }
.tone-active { background: var(--ok); }
.tone-passive { background: var(--passive); }
.tone-failed { background: var(--bad); }
.tone-unreachable { background: var(--unreachable); }
.tone-unknown { background: var(--off); }
/* an unreachable member's other cells are its last known facts: shown, but faded */
tr.member[data-tone=unreachable] td + td + td { opacity: .55; }
#timeline h2 a { font-size: .85rem; font-weight: 400; margin-left: .6rem; }
`;
