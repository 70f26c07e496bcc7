// The inspection page: one HTML document with its own script and style (no CDN, no build step),
// served by server.ts. It loads /api/sessions and /api/rows, then follows /api/stream (server-sent
// events) to add and update rows live. Secret values (Authorization, Cookie, Set-Cookie, ...
// headers, and every env value) are shown as dots until clicked. A teleport's table and a
// session's env are snapshots: the Teleport and Env views show each session's last one.
export function inspectPage(): string {
  return PAGE;
}

const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>kinject inspect</title>
<style>
body{font:13px/1.4 system-ui,sans-serif;margin:0;color:#222;background:#fafafa}
header{background:#1f3b57;color:#fff;padding:8px 14px;display:flex;gap:16px;align-items:center}
header h1{font-size:16px;margin:0}
nav button{background:none;border:0;color:#cfe;padding:4px 8px;cursor:pointer;font-size:13px}
nav button.on{color:#fff;border-bottom:2px solid #fff}
#bar{padding:6px 14px;display:flex;gap:10px;align-items:center;background:#eef}
main{padding:6px 14px}
table{border-collapse:collapse;width:100%;background:#fff}
th,td{border-bottom:1px solid #ddd;padding:3px 6px;text-align:left;vertical-align:top;white-space:nowrap}
td.wrap{white-space:normal;word-break:break-all}
tr.sel{background:#ffd}
.bad{color:#b00}.ok{color:#070}.live{color:#06c}
.secret{background:#333;color:#333;cursor:pointer;border-radius:3px;padding:0 4px}
.secret.shown{background:none;color:inherit}
#detail{margin-top:8px}
#d-req,#d-old,#d-new{background:#fff;border:1px solid #ccc;padding:6px;overflow:auto}
#d-req{max-height:35vh;margin-bottom:8px}
#d-responses{display:flex;gap:12px}
#d-responses>div{flex:1;max-height:45vh}
pre{margin:0;white-space:pre-wrap;word-break:break-all}
.hidden{display:none}
</style></head><body>
<header><h1>kinject inspect</h1><nav id="tabs"></nav><span id="status">connecting…</span></header>
<div id="bar">
<label>session <select id="fsession"><option value="">all</option></select></label>
<label>filter <input id="fq" placeholder="destination, name, path, text…" size="30"></label>
<span id="count"></span> <span id="dropped"></span>
</div>
<main>
<section id="v-sessions"><table id="t-sessions"><thead><tr><th>session</th><th>kind</th><th>context / namespace</th><th>target</th><th>proxy pod</th><th>started</th><th>tunnel</th><th>tunnel history</th><th>command</th><th>details</th></tr></thead><tbody></tbody></table></section>
<section id="v-connection" class="hidden"><table id="t-connection"><thead><tr><th>time</th><th>session</th><th>pid</th><th>process</th><th>destination</th><th>resolved</th><th>port</th><th>out</th><th>in</th><th>duration</th><th>end</th></tr></thead><tbody></tbody></table></section>
<section id="v-dns" class="hidden"><table id="t-dns"><thead><tr><th>time</th><th>session</th><th>name</th><th>answer</th><th>took</th><th>pid</th><th>process</th></tr></thead><tbody></tbody></table></section>
<section id="v-tunnel" class="hidden"><table id="t-tunnel"><thead><tr><th>time</th><th>session</th><th>state</th><th>reason</th></tr></thead><tbody></tbody></table></section>
<section id="v-teleport" class="hidden"><table id="t-teleport"><thead><tr><th>session</th><th>address</th><th>port</th><th>names</th><th>to (in the cluster)</th><th>open</th><th>connections</th></tr></thead><tbody></tbody></table></section>
<section id="v-env" class="hidden"><table id="t-env"><thead><tr><th>session</th><th>from</th><th>name</th><th>value (click to show)</th></tr></thead><tbody></tbody></table></section>
<section id="v-intercept" class="hidden"><table id="t-intercept"><thead><tr><th>time</th><th>session</th><th>method</th><th>path</th><th>status</th><th>duration</th><th>routed</th><th>replays</th></tr></thead><tbody></tbody></table>
<div id="detail" class="hidden"><div id="d-req"></div><div id="d-responses"><div id="d-old"></div><div id="d-new"></div></div></div></section>
</main>
<script>
"use strict";
const VIEWS=[['sessions','Sessions'],['connection','Connections'],['dns','DNS'],['tunnel','Tunnel'],['teleport','Teleport'],['intercept','Requests'],['env','Env']];
const SNAPSHOT=new Set(['teleport','env']);
const SECRET=/^(authorization|proxy-authorization|cookie|set-cookie|x-api-key|x-auth-token)$/i;
let view='sessions',rows=new Map(),sessions=[],selected=null,dropped=0;
const $=(id)=>document.getElementById(id);
function el(tag,attrs,...kids){const e=document.createElement(tag);for(const[k,v]of Object.entries(attrs||{}))if(k==='class')e.className=v;else if(k.startsWith('on'))e.addEventListener(k.slice(2),v);else e.setAttribute(k,v);for(const k of kids)e.append(k instanceof Node?k:document.createTextNode(k==null?'':String(k)));return e}
function secret(v){const s=el('span',{class:'secret',title:'click to show'},'••••••');s.addEventListener('click',()=>{s.textContent=v;s.classList.add('shown')},{once:true});return s}
function proc(p){return el('span',{class:'proc',title:p||''},(p||'').split(' ').map(a=>a.startsWith('/')?a.split('/').pop():a).join(' ').slice(0,60))}
function bytes(n){return n==null?'':n<1024?n+' B':n<1048576?(n/1024).toFixed(1)+' KiB':(n/1048576).toFixed(1)+' MiB'}
function ms(n){return n==null?'':n<1000?n+' ms':(n/1000).toFixed(1)+' s'}
function t(iso){return iso?new Date(iso).toLocaleTimeString():''}
for(const[k,label]of VIEWS)$('tabs').append(el('button',{'data-view':k,onclick:()=>show(k)},label));
function show(k){view=k;for(const b of $('tabs').children)b.classList.toggle('on',b.dataset.view===k);for(const[v]of VIEWS)$('v-'+v).classList.toggle('hidden',v!==k);render()}
function matches(r){const s=$('fsession').value,q=$('fq').value.toLowerCase();if(s&&r.session!==s)return false;if(q&&!JSON.stringify(r).toLowerCase().includes(q))return false;return true}
function cells(r){switch(r.type){
case'connection':return[t(r.time),r.session,r.pid??'',proc(r.process),r.asked,r.resolved??'',r.port,bytes(r.bytesOut),bytes(r.bytesIn),r.phase==='open'?el('span',{class:'live'},'open'):ms(r.durationMs),r.phase==='open'?'':el('span',{class:r.end==='closed'?'ok':'bad',title:r.error||''},r.end+(r.error&&r.end!=='closed'?': '+r.error:''))];
case'dns':return[t(r.time),r.session,r.name,r.error?el('span',{class:'bad'},r.error):r.answer,ms(r.durationMs),r.pid??'',proc(r.process)];
case'tunnel':return[t(r.time),r.session,el('span',{class:r.state==='up'?'ok':'bad'},r.state),r.reason||''];
case'intercept':{const x=r.record;return[t(x.time),r.session,x.method,el('span',{class:'wrap'},x.path),el('span',{class:x.status>=500||!x.status?'bad':'ok'},x.status||x.error||''),ms(x.durationMs),x.decision.to+': '+x.decision.why,(r.replays||[]).length]}}}
function rowEl(r){const tr=el('tr',{'data-seq':r.seq});for(const c of cells(r))tr.append(el('td',{},c));if(r.type==='intercept'){tr.style.cursor='pointer';tr.addEventListener('click',()=>select(r.seq))}if(selected===r.seq)tr.classList.add('sel');return tr}
function snapRows(r){if(r.type==='teleport')return r.table.map(e=>el('tr',{'data-seq':r.seq,'data-address':e.address+':'+e.port},el('td',{},r.session),el('td',{},e.address),el('td',{},e.port),el('td',{class:'wrap'},e.names.join(' ')),el('td',{},e.to),el('td',{class:e.open?'live':''},e.open),el('td',{},e.total)));
return Object.keys(r.vars).sort().map(k=>el('tr',{'data-seq':r.seq,'data-name':k},el('td',{},r.session),el('td',{},r.source),el('td',{},k),el('td',{class:'wrap'},secret(r.vars[k]))))}
function render(){if(view==='sessions')return renderSessions();if(SNAPSHOT.has(view)){const list=[...rows.values()].filter(r=>r.type===view&&matches(r)).flatMap(snapRows);$('t-'+view).tBodies[0].replaceChildren(...list);$('count').textContent=list.length+' rows';return}const body=$('t-'+view).tBodies[0];const list=[...rows.values()].filter(r=>r.type===view&&matches(r));body.replaceChildren(...list.map(rowEl));$('count').textContent=list.length+' rows';if(view==='intercept'&&selected)detail()}
function upsert(r){rows.set(r.seq,r);if(r.type!==view||!matches(r)){return}if(SNAPSHOT.has(r.type))return render();const body=$('t-'+view).tBodies[0];const old=body.querySelector('tr[data-seq="'+r.seq+'"]');const tr=rowEl(r);if(old)old.replaceWith(tr);else body.append(tr);$('count').textContent=body.rows.length+' rows';if(r.seq===selected)detail()}
function renderSessions(){const body=$('t-sessions').tBodies[0];body.replaceChildren(...sessions.filter(s=>!$('fsession').value||s.id===$('fsession').value).map(s=>{const hist=(s.tunnelHistory||[]).map(h=>h.state+' at '+t(h.at)+(h.reason?' ('+h.reason+')':'')).join(', ');return el('tr',{'data-session':s.id},el('td',{},s.id),el('td',{},s.kind),el('td',{},(s.context||'')+' / '+(s.namespaces||[]).join(',')),el('td',{},s.target||''),el('td',{},s.proxyPod||''),el('td',{},t(s.startedAt)),el('td',{class:s.tunnel==='up'?'ok':'bad'},s.tunnel),el('td',{class:'wrap tunnel-history'},hist),el('td',{class:'wrap'},(s.command||[]).join(' ')),el('td',{class:'wrap'},details(s.details)))}));$('count').textContent=sessions.length+' sessions'}
function details(d){if(!d)return'';const box=el('div',{});for(const[k,v]of Object.entries(d)){if(Array.isArray(v)&&v.length&&typeof v[0]==='object'){const tb=el('table',{});const keys=Object.keys(v[0]);tb.append(el('tr',{},...keys.map(k=>el('th',{},k))));for(const o of v)tb.append(el('tr',{},...keys.map(k=>el('td',{},typeof o[k]==='object'?JSON.stringify(o[k]):o[k]))));box.append(el('div',{},k+':'),tb)}else box.append(el('div',{},k+': '+(typeof v==='object'?JSON.stringify(v):v)))}return box}
function headers(list){const box=el('div',{});for(let i=0;i+1<list.length;i+=2)box.append(el('div',{},el('b',{},list[i]+': '),SECRET.test(list[i])?secret(list[i+1]):list[i+1]));return box}
function body(b,hdrs){if(!b||!b.bytes)return el('i',{},'(no body)');let text;try{text=new TextDecoder().decode(Uint8Array.from(atob(b.base64),c=>c.charCodeAt(0)))}catch{text='(binary)'}const ct=(hdrs||[]).find((h,i)=>i%2===0&&/^content-type$/i.test(h));try{if(/json/.test(hdrs[hdrs.indexOf(ct)+1])||/^[\\[{]/.test(text))text=JSON.stringify(JSON.parse(text),null,2)}catch{}return el('div',{},el('pre',{},text),b.truncated?el('i',{},'(first '+bytes(b.base64.length*3/4)+' of '+bytes(b.bytes)+')'):'')}
function select(seq){selected=seq;for(const tr of $('t-intercept').tBodies[0].rows)tr.classList.toggle('sel',Number(tr.dataset.seq)===seq);detail()}
function detail(){const r=rows.get(selected);if(!r)return;const x=r.record;$('detail').classList.remove('hidden');
$('d-req').replaceChildren(el('h3',{},x.method+' '+x.path),el('div',{},'routed to '+x.decision.to+' ('+x.decision.why+')'),el('h4',{},'request headers'),headers(x.requestHeaders),el('h4',{},'request body'),body(x.requestBody,x.requestHeaders));
$('d-old').replaceChildren(el('h4',{id:'old-status'},'response: '+(x.status||x.error||'none')+' in '+ms(x.durationMs)),headers(x.responseHeaders),body(x.responseBody,x.responseHeaders));
const last=(r.replays||[]).at(-1);const btn=el('button',{id:'replay',onclick:replay},'Replay');
$('d-new').replaceChildren(btn,last?el('div',{id:'replay-result'},el('h4',{id:'new-status'},'replay at '+t(last.time)+': '+(last.status||last.error)+' in '+ms(last.durationMs)),last.error?el('div',{class:'bad'},last.error):'',headers(last.responseHeaders),body(last.responseBody,last.responseHeaders)):el('i',{},'Replay sends this request to the local process again; its new response shows here.'))}
async function replay(){const b=$('replay');b.disabled=true;b.textContent='replaying…';try{const res=await fetch('/api/rows/'+selected+'/replay',{method:'POST',headers:{'X-Kinject-Inspect':'1'}});const r=await res.json();if(!res.ok)alert(r.error);else upsert(r)}finally{detail()}}
function fillSessions(){const sel=$('fsession'),cur=sel.value;sel.replaceChildren(el('option',{value:''},'all'),...sessions.map(s=>el('option',{value:s.id},s.id+' ('+s.kind+')')));sel.value=cur}
$('fsession').addEventListener('change',render);$('fq').addEventListener('input',render);
async function start(){const[s,r]=await Promise.all([fetch('/api/sessions').then(x=>x.json()),fetch('/api/rows').then(x=>x.json())]);sessions=s.sessions;fillSessions();for(const row of r.rows)rows.set(row.seq,row);setDropped(r.dropped);show(view);
const es=new EventSource('/api/stream');es.onopen=()=>{$('status').textContent='live'};es.onerror=()=>{$('status').textContent='disconnected: retrying'};
es.addEventListener('row',e=>{upsert(JSON.parse(e.data));trim()});es.addEventListener('dropped',e=>setDropped(JSON.parse(e.data).dropped));
es.addEventListener('sessions',e=>{sessions=JSON.parse(e.data);fillSessions();if(view==='sessions')renderSessions()})}
function trim(){while(rows.size>${10_000}){const k=rows.keys().next().value;rows.delete(k);const tr=document.querySelector('tr[data-seq="'+k+'"]');if(tr)tr.remove()}}
function setDropped(n){dropped=n;$('dropped').textContent=n?n+' older rows dropped':''}
start();
</script></body></html>
`;
