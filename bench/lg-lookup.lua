-- wrk script for bench/lg-bench.sh: every request looks up a prefix chosen at random from
-- the file $PREFIXES (one prefix a line, sampled from the replayed table).
-- $LOOKUP_PATH is the endpoint (default the looking glass's /api/v1/lookup).
local path = os.getenv("LOOKUP_PATH") or "/api/v1/lookup"
local file = os.getenv("PREFIXES")
local prefixes = {}
if file then
  for line in io.lines(file) do
    if #line > 0 then prefixes[#prefixes + 1] = line end
  end
end
if #prefixes == 0 then
  error("PREFIXES must name a file with at least one prefix")
end

local counter = 0
function setup(thread)
  counter = counter + 1
  thread:set("seed", counter)
end

function init(args)
  math.randomseed(os.time() * 1000 + (seed or 0))
end

function request()
  local p = prefixes[math.random(#prefixes)]
  return wrk.format("GET", path .. "?prefix=" .. p)
end
