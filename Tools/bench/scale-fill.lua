-- wrk script: request every URL of a list (one per line) once, split across the
-- threads (thread k takes lines k, k+T, k+2T, ...); a thread stops once it has had
-- as many responses as it has URLs (wrk itself still runs for its -d duration:
-- scale.py times the fill by polling the admin API and stops wrk by PID).
-- Args: <urls file> <threads>.
local next_id = 0
function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
end

function init(args)
  urls = {}
  local f = io.open(args[1])
  for line in f:lines() do urls[#urls + 1] = line end
  f:close()
  local threads = tonumber(args[2])
  mine = {}
  for i = id + 1, #urls, threads do mine[#mine + 1] = urls[i] end
  urls = nil
  idx = 0
  done = 0
end

function request()
  idx = idx + 1
  -- Connections still open after the last URL ask for the first again (a hit).
  return wrk.format("GET", mine[idx] or mine[1])
end

function response(status, headers, body)
  done = done + 1
  if done >= #mine then wrk.thread:stop() end
end
