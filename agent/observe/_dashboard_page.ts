/**
 * The local dashboard: one static HTML page (inline CSS, inline SVG charts, a small inline
 * script; no CDN, no build step) that polls `dashboard.json` every second and draws pps and
 * bit/s by protocol for the last 15 minutes with the thresholds, the tracked targets, the open
 * incidents and the incident history. Everything from the agent is set as text, never as HTML.
 *
 * @module
 */

const STYLE = `
body{font:14px/1.4 system-ui,sans-serif;margin:0;background:#f6f7f9;color:#1d2330}
header{background:#1d2330;color:#fff;padding:8px 16px;display:flex;gap:16px;align-items:baseline}
header h1{font-size:18px;margin:0}#health.bad{color:#ff8a80}#health{color:#9be59b}
main{padding:8px 16px;display:grid;gap:12px;grid-template-columns:repeat(auto-fit,minmax(520px,1fr))}
section{background:#fff;border:1px solid #dde1e7;border-radius:6px;padding:8px 12px}
h2{font-size:15px;margin:4px 0 8px}table{border-collapse:collapse;width:100%}
td,th{text-align:left;padding:3px 6px;border-bottom:1px solid #eef0f3;vertical-align:top}
th{font-weight:600;color:#555}.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
svg{width:100%;height:180px;display:block}.legend span{margin-right:10px}
.tcp{stroke:#1f77b4;color:#1f77b4}.udp{stroke:#d62728;color:#d62728}
.icmp{stroke:#2ca02c;color:#2ca02c}.other{stroke:#9467bd;color:#9467bd}
.total{stroke:#1d2330;color:#1d2330}polyline{fill:none;stroke-width:1.5}
.thr{stroke:#e67e00;stroke-dasharray:6 4;stroke-width:1.5}.axis{fill:#777;font-size:11px}
.grid{stroke:#eef0f3}.st-active{color:#c62828;font-weight:600}.st-suspected{color:#e67e00}
.empty{color:#888}.wide{grid-column:1/-1}`;

const SCRIPT = `
"use strict";
const P=["tcp","udp","icmp","other"],SPAN=900,q=new URLSearchParams(location.search);
const tok=q.get("token"),T=tok?"token="+encodeURIComponent(tok):"";
const withTok=(u)=>T?u+(u.includes("?")?"&":"?")+T:u;
let H={t:[],pps:[],bps:[],ppsBy:{},bpsBy:{}},last=-1;
const $=(id)=>document.getElementById(id);
function fmt(v,u){const k=[[1e9,"G"],[1e6,"M"],[1e3,"k"]].find(([d])=>v>=d),x=k?v/k[0]:v;
return(k?x.toFixed(x<10?2:x<100?1:0)+" "+k[1]:Math.round(v)+" ")+u}
function el(tag,text,cls){const e=document.createElement(tag);if(text!=null)e.textContent=text;
if(cls)e.className=cls;return e}
function row(cells){const tr=el("tr");for(const c of cells){if(c instanceof Node){const td=el("td");
td.append(c);tr.append(td)}else tr.append(el("td",c[0],c[1]))}return tr}
function fill(id,rows,cols){const b=$(id);b.replaceChildren(...rows);
if(!rows.length){const tr=el("tr"),td=el("td","none","empty");td.colSpan=cols;tr.append(td);b.append(tr)}}
function merge(h){if(!h.t.length)return;H.t.push(...h.t);H.pps.push(...h.pps);H.bps.push(...h.bps);
for(const p of P){(H.ppsBy[p]??=[]).push(...h.ppsBy[p]);(H.bpsBy[p]??=[]).push(...h.bpsBy[p])}
last=H.t[H.t.length-1];const cut=H.t.findIndex((t)=>t>last-SPAN);if(cut>0){
for(const a of[H.t,H.pps,H.bps,...Object.values(H.ppsBy),...Object.values(H.bpsBy)])a.splice(0,cut)}}
const NS="http://www.w3.org/2000/svg";
function svg(tag,attrs,text){const e=document.createElementNS(NS,tag);
for(const k in attrs)e.setAttribute(k,attrs[k]);if(text!=null)e.textContent=text;return e}
function chart(id,total,by,thr,unit){const s=$(id),W=Math.max(300,s.clientWidth||800),Hh=180,L=78,R=6,Tp=8,B=18;
s.setAttribute("viewBox","0 0 "+W+" "+Hh);
const span=Math.min(SPAN,Math.max(60,last-(H.t[0]??last))),t0=last-span;
const max=Math.max(1,thr??0,...total)*1.1;
const x=(t)=>L+((t-t0)/span)*(W-L-R),y=(v)=>Tp+(1-v/max)*(Hh-Tp-B);
const kids=[];for(let i=0;i<=4;i++){const v=max*i/4;kids.push(svg("line",{x1:L,x2:W-R,y1:y(v),y2:y(v),class:"grid"}),
svg("text",{x:L-4,y:y(v)+4,"text-anchor":"end",class:"axis"},fmt(v,unit)))}
for(const f of[1,.75,.5,.25,0]){const a=Math.round(span*f);kids.push(svg("text",{x:x(last-a),y:Hh-4,
"text-anchor":f===1?"start":f?"middle":"end",class:"axis"},a?"-"+(a>=120?Math.round(a/60)+" min":a+" s"):"now"))}
const line=(vals,cls)=>svg("polyline",{class:cls,"data-series":cls,"data-points":vals.length,
points:vals.map((v,i)=>x(H.t[i]).toFixed(1)+","+y(v).toFixed(1)).join(" ")});
kids.push(line(total,"total"));for(const p of P)kids.push(line(by[p]??[],p));
if(thr!=null){kids.push(svg("line",{x1:L,x2:W-R,y1:y(thr),y2:y(thr),class:"thr","data-threshold":thr}),
svg("text",{x:W-R-4,y:y(thr)-4,"text-anchor":"end",class:"axis"},"threshold "+fmt(thr,unit)))}
s.replaceChildren(...kids)}
function thrText(th){return Object.entries(th).filter(([,v])=>v!=null)
.map(([k,v])=>k+" "+fmt(v,k==="bps"?"bit/s":"pps")).join(", ")}
function link(href,text){const a=el("a",text);a.href=withTok(href);return a}
function draw(d){const hl=$("health");hl.textContent=d.problems.length?"UNHEALTHY: "+d.problems.join("; "):"healthy";
hl.className=d.problems.length?"bad":"";$("source").textContent=d.source;$("version").textContent="ftagent "+d.version;
$("mode").textContent=d.mitigationMode;merge(d.history);
const n=H.pps.length,cur=n?H.pps[n-1]:0,curb=n?H.bps[n-1]:0;
$("now-pps").textContent=fmt(cur,"pps");$("now-bps").textContent=fmt(curb,"bit/s");
chart("pps-chart",H.pps,H.ppsBy,d.thresholds.pps,"pps");chart("bps-chart",H.bps,H.bpsBy,d.thresholds.bps,"bit/s");
fill("targets",d.targets.map((t)=>row([[t.target],[t.state,"st-"+t.state],[fmt(t.pps,"pps"),"num"],
[fmt(t.bps,"bit/s"),"num"],[thrText(t.thresholds)],[t.held??""]])),6);
fill("open",d.open.map((i)=>row([[i.family+"/"+i.subtype,"family"],[i.target,"target"],
[i.startedAt.slice(0,19).replace("T"," ")],[fmt(i.peakPps,"pps")+" "+fmt(i.peakBps,"bit/s"),"num"],
[i.evidence],[i.mitigation],link("incidents/"+encodeURIComponent(i.id)+"/report","report")])),7);
fill("past",d.past.map((i)=>{const links=el("span");links.append(link("incidents/"+encodeURIComponent(i.id)+"/report","report"));
if(i.pcap){links.append(" ");links.append(link("incidents/"+encodeURIComponent(i.id)+"/pcap","pcap"))}
return row([[i.startedAt.slice(0,19).replace("T"," ")],[i.family+"/"+i.subtype],[i.target],
[fmt(i.peakPps,"pps"),"num"],[i.state],links])}),6);
fill("events",d.events.map((e)=>row([[new Date(e.atMs).toISOString().slice(11,19)],[e.text]])),2)}
async function poll(){try{const r=await fetch(withTok("dashboard.json?since="+last));
if(r.ok)draw(await r.json());else $("health").textContent="HTTP "+r.status}catch(e){
$("health").textContent="agent not answering";$("health").className="bad"}setTimeout(poll,1000)}
poll();`;

const BODY = `<header><h1 id="version">ftagent</h1><span id="source"></span>
<span id="health">connecting</span><span>now <b id="now-pps">-</b>, <b id="now-bps">-</b></span>
<span>mitigation <b id="mode">-</b></span></header>
<main>
<section><h2>Packets per second (up to the last 15 minutes)</h2><svg id="pps-chart" viewBox="0 0 800 180"></svg><div class="legend"><span class="total">&#9644; total</span>
<span class="tcp">&#9644; tcp</span><span class="udp">&#9644; udp</span><span class="icmp">&#9644;
icmp</span><span class="other">&#9644; other</span><span style="color:#e67e00">- - threshold</span>
</div></section>
<section><h2>Bits per second (up to the last 15 minutes)</h2><svg id="bps-chart" viewBox="0 0 800 180"></svg></section>
<section class="wide"><h2>Open incidents</h2><table><thead><tr><th>Family</th><th>Target</th><th>Since (UTC)
</th><th>Peak</th><th>Evidence</th><th>Mitigation</th><th></th></tr></thead><tbody id="open">
</tbody></table></section>
<section><h2>Targets</h2><table><thead><tr><th>Target</th><th>State</th><th>pps</th><th>bit/s
</th><th>Thresholds</th><th>Held</th></tr></thead><tbody id="targets"></tbody></table></section>
<section><h2>Last events</h2><table><tbody id="events"></tbody></table></section>
<section class="wide"><h2>Incident history</h2><table><thead><tr><th>Started (UTC)</th><th>Family</th><th>
Target</th><th>Peak</th><th>State</th><th></th></tr></thead><tbody id="past"></tbody></table>
</section>
</main>`;

/** The dashboard page (served at `/` and `/dashboard`). */
export const DASHBOARD_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>ftagent</title><style>${STYLE}</style></head>
<body>${BODY}<script>${SCRIPT}</script></body></html>
`;
