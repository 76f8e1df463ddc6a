// The page's stylesheet, served as /ui/style.css (a file of its own: the CSP allows no inline style).
export const STYLE = `
:root { color-scheme: light dark; --ok: #1a7f37; --bad: #cf222e; --warn: #9a6700; --off: #6e7781; --line: #d0d7de; }
* { box-sizing: border-box; }
body { font: 14px/1.4 system-ui, sans-serif; margin: 0; padding: 0 1rem 2rem; }
header { display: flex; align-items: center; gap: 1rem; border-bottom: 1px solid var(--line); }
header h1 { font-size: 1.2rem; margin: .6rem 0; flex: 1; }
form#login { margin: 1rem 0; padding: 1rem; border: 1px solid var(--line); max-width: 40rem; }
form#login input { width: 24rem; max-width: 100%; }
h2 { font-size: 1rem; margin: 0 0 .4rem; }
section { border: 1px solid var(--line); border-radius: 4px; padding: .6rem .8rem; margin: .6rem 0; overflow-x: auto; }
.pair { display: grid; grid-template-columns: repeat(auto-fit, minmax(22rem, 1fr)); gap: 0 .8rem; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .15rem .8rem; margin: 0; }
dt { color: var(--off); }
dd { margin: 0; }
table { border-collapse: collapse; }
th, td { text-align: left; padding: .15rem .8rem .15rem 0; border-bottom: 1px solid var(--line); white-space: nowrap; }
.muted { color: var(--off); }
.banner { padding: .4rem .8rem; margin: .6rem 0; border-radius: 4px; color: #fff; background: var(--off); }
.banner.ok { background: var(--ok); }
.banner.bad { background: var(--bad); font-weight: 600; }
.banner .muted { color: #eee; }
.badge { display: inline-block; padding: 0 .4rem; border-radius: 3px; color: #fff; background: var(--off); font-size: .9em; }
.badge.ok { background: var(--ok); }
.badge.bad { background: var(--bad); }
.badge.warn { background: var(--warn); }
.state { font-weight: 700; text-transform: uppercase; }
.state-active, .state-active-primary, .state-active-secondary { color: var(--ok); }
.state-passive { color: #0969da; }
.state-initial, .state-unknown { color: var(--off); }
.state-tentative { color: var(--warn); }
.state-suspended { color: var(--warn); }
.state-non-functional { color: var(--bad); }
.sections.stale { opacity: .5; }
`;
