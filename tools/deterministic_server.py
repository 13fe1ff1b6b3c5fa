#!/usr/bin/env python3
"""A deterministic OpenAI-compatible server for measuring grsu's model work (calls and tokens).

It answers CRS prompts with `k` numbered bold titles drawn from the ReDial catalog with the request's
seed, critiques with a fixed sentence, and scoring questions (forced: one token; generate: the whole
answer line) with Yes/No logprobs that depend on the end of the prompt. Token counts are rough
(characters / 4 for prompts), the same for every configuration, so ratios between configurations
are meaningful. Usage:

    python3 tools/deterministic_server.py 8556 &
    grsu run tools/paper_setting.toml        # B = N = 4, D = 5 on 20 ReDial samples

GRSU_SHARED_DATA (default ../shared/data) locates id2info.json.
"""
import json, math, os, random, re, sys, zlib
from http.server import ThreadingHTTPServer, BaseHTTPRequestHandler
DATA=os.environ.get('GRSU_SHARED_DATA', os.path.join(os.path.dirname(__file__), '..', '..', 'shared', 'data'))
titles=sorted(set(v['name'] for v in json.load(open(os.path.join(DATA, 'redial', 'id2info.json'))).values()))
class H(BaseHTTPRequestHandler):
    protocol_version="HTTP/1.1"
    def log_message(self,*a): pass
    def do_GET(self):
        self.send(json.dumps({"object":"list","data":[{"id":"det"}]}))
    def send(self, body):
        b=body.encode(); self.send_response(200); self.send_header("content-type","application/json"); self.send_header("content-length",str(len(b))); self.send_header("connection","close"); self.end_headers(); self.wfile.write(b)
    def do_POST(self):
        n=int(self.headers.get('content-length',0)); req=json.loads(self.rfile.read(n))
        prompt="\n".join(m["content"] for m in req["messages"])
        ch=[]
        for i in range(req.get("n",1)):
            rnd=random.Random(req.get("seed",0)+i)
            if "Accept the recommendation (Yes/No)? X" in prompt:
                p=0.05+0.9*(zlib.crc32(prompt[-200:].encode())%1000)/999; tok={"token":" Yes","logprob":math.log(p),"top_logprobs":[{"token":" Yes","logprob":math.log(p)},{"token":" No","logprob":math.log(1-p)}]}
                if req.get("continue_final_message"):
                    ch.append({"index":i,"message":{"role":"assistant","content":" Yes"},"logprobs":{"content":[tok]},"finish_reason":"stop"})
                else:
                    pre=[{"token":t,"logprob":-0.01,"top_logprobs":[]} for t in ["Accept"," the"," recommendation"," (","Yes","/","No",")?"]]
                    ch.append({"index":i,"message":{"role":"assistant","content":"Accept the recommendation (Yes/No)? Yes"},"logprobs":{"content":pre+[tok]},"finish_reason":"stop"})
            elif "provide feedback" in prompt:
                ch.append({"index":i,"message":{"role":"assistant","content":"more suspense please"},"finish_reason":"stop"})
            else:
                ch.append({"index":i,"message":{"role":"assistant","content":"\n".join(f"{j+1}. **{t}**" for j,t in enumerate(rnd.sample(titles,int((re.findall(r'recommend (\d+) items',prompt) or ['10'])[0]))))},"finish_reason":"stop"})
        comp=sum(len(c.get("logprobs",{}).get("content",[])) if c.get("logprobs") else len(c["message"]["content"])//4+1 for c in ch)
        self.send(json.dumps({"id":"x","model":"det","choices":ch,"usage":{"prompt_tokens":len(prompt)//4+1,"completion_tokens":comp}}))
ThreadingHTTPServer(("127.0.0.1",int(sys.argv[1])),H).serve_forever()
