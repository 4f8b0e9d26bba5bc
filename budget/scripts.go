package budget

import "github.com/redis/go-redis/v9"

// The scripts below never turn an amount into a Lua number. Lua 5.1 (and
// gopher-lua, which miniredis uses) has only doubles, exact up to 2^53, and
// 2^53 pico-dollars is only about $9,007: a team's monthly budget passes that.
// So amounts travel as the decimal strings Go wrote, all arithmetic is done by
// Redis itself with HINCRBY (exact signed 64-bit, and it refuses to overflow),
// values are read back with HGET as strings, and Lua only compares decimal
// strings digit by digit (cmp). The reply of HINCRBY, which Lua would see as a
// double, is never used. The bound is therefore int64 per counter field:
// about $9.2 million, or 9.2e18 tokens, per scope and window.
//
// A counter is a hash with the fields
//
//	epoch                  set when the counter is seeded from the ledger
//	spent_usd, spent_tok   settled spend in the window
//	held_usd, held_tok     settled spend plus the reservations still held
//	x50, x80, x100         thresholds already reported in the window
//
// A reservation is a hash with the fields usd and tok (the amount held on every
// counter) and, per counter key, the counter's epoch when it was reserved. A
// reservation that was settled into a counter rebuilt after it was taken is
// replaced by a tombstone {done: 1} so that a retried settlement cannot count it
// twice.

// luaPrelude holds the helpers the scripts share. Redis forbids global
// variables in scripts, so everything is local.
const luaPrelude = `
local function cmp(a, b)
  local na, nb = string.byte(a, 1) == 45, string.byte(b, 1) == 45
  if na ~= nb then
    if na then return -1 end
    return 1
  end
  local r = 0
  if #a ~= #b then
    if #a < #b then r = -1 else r = 1 end
  else
    for i = 1, #a do
      local x, y = string.byte(a, i), string.byte(b, i)
      if x ~= y then
        if x < y then r = -1 else r = 1 end
        break
      end
    end
  end
  if na then return -r end
  return r
end

local function neg(s)
  if s == '0' then return s end
  if string.sub(s, 1, 1) == '-' then return string.sub(s, 2) end
  return '-' .. s
end

local function get(key, field)
  return redis.call('HGET', key, field) or '0'
end

local applied = {}

local function add(key, field, amount)
  if amount == '0' then return nil end
  local r = redis.pcall('HINCRBY', key, field, amount)
  if type(r) == 'table' and r.err then return r.err end
  applied[#applied + 1] = {key, field, amount}
  return nil
end

local function undo()
  for i = #applied, 1, -1 do
    local a = applied[i]
    redis.call('HINCRBY', a[1], a[2], neg(a[3]))
  end
  applied = {}
end

local measures = {'usd', 'tok'}
`

// reserveScript holds an amount on every counter, or on none.
//
// KEYS[1] is the reservation hash, KEYS[2..] the counters. ARGV[1] and ARGV[2]
// are the amount (usd picos, tokens), ARGV[3] the reservation's TTL in ms, then
// three values per counter: its usd limit and token limit ('0' = none) and its
// TTL in ms.
//
// Replies: {'ok', epoch...}; {'seed', index...} when counters need seeding
// first (1-based counter indexes; nothing was written); {'over', index,
// measure, spent usd, spent tokens, held usd, held tokens} when a limit would
// be exceeded (nothing was written); {'conflict'} when the id is held by a
// different reservation; {'error', message}.
var reserveScript = redis.NewScript(luaPrelude + `
local resv, amount = KEYS[1], {usd = ARGV[1], tok = ARGV[2]}
if redis.call('EXISTS', resv) == 1 then
  if redis.call('HGET', resv, 'usd') ~= amount.usd or redis.call('HGET', resv, 'tok') ~= amount.tok
      or redis.call('HLEN', resv) ~= #KEYS + 1 then
    return {'conflict'}
  end
  local out = {'ok'}
  for i = 2, #KEYS do
    local e = redis.call('HGET', resv, KEYS[i])
    if not e then return {'conflict'} end
    out[#out + 1] = e
  end
  return out
end

local out, missing = {'ok'}, {}
for i = 2, #KEYS do
  local e = redis.call('HGET', KEYS[i], 'epoch')
  if e then out[#out + 1] = e else missing[#missing + 1] = i - 1 end
end
if #missing > 0 then return {'seed', missing} end

for i = 2, #KEYS do
  local key, b = KEYS[i], 3 + (i - 2) * 3
  local limit = {usd = ARGV[b + 1], tok = ARGV[b + 2]}
  for _, m in ipairs(measures) do
    local err = add(key, 'held_' .. m, amount[m])
    if err then
      undo()
      return {'error', err}
    end
    if limit[m] ~= '0' and cmp(get(key, 'held_' .. m), limit[m]) > 0 then
      undo()
      return {'over', i - 1, m, get(key, 'spent_usd'), get(key, 'spent_tok'), get(key, 'held_usd'), get(key, 'held_tok')}
    end
  end
end

redis.call('HSET', resv, 'usd', amount.usd, 'tok', amount.tok)
for i = 2, #KEYS do
  redis.call('HSET', resv, KEYS[i], out[i])
  redis.call('PEXPIRE', KEYS[i], ARGV[3 + (i - 2) * 3 + 3])
end
redis.call('PEXPIRE', resv, ARGV[3])
return out
`)

// finishScript settles or releases a reservation. Running it twice changes
// nothing the second time.
//
// KEYS[1] is the reservation hash, KEYS[2..] its counters. ARGV[1] is 'settle'
// or 'release', ARGV[2] and ARGV[3] the actual cost (usd picos, tokens),
// ARGV[4] the tombstone's TTL in ms, ARGV[5] the number t of thresholds, then
// 1+3t values per counter: the counter's epoch when reserved, and per threshold
// its percent and the usd and token spend that reach it ('' = not limited).
//
// Replies: {'ok', {index, percent, spent usd, spent tokens}...} listing the
// thresholds newly reached; {'error', message}.
var finishScript = redis.NewScript(luaPrelude + `
local resv, settle = KEYS[1], ARGV[1] == 'settle'
local actual = {usd = ARGV[2], tok = ARGV[3]}
local t = tonumber(ARGV[5])
local stride = 1 + 3 * t
if redis.call('HEXISTS', resv, 'done') == 1 then return {'ok'} end
local held = {usd = redis.call('HGET', resv, 'usd'), tok = redis.call('HGET', resv, 'tok')}
local pending = held.usd ~= false
local recovered = false
local out = {'ok'}

for i = 2, #KEYS do
  local key, b = KEYS[i], 5 + (i - 2) * stride
  local cur, mine = redis.call('HGET', key, 'epoch'), ARGV[b + 1]
  if pending then mine = redis.call('HGET', resv, key) end
  -- Touch a counter only if it holds this reservation, or if it was rebuilt
  -- from the ledger after the reservation was taken (Redis lost the
  -- reservation with the rest of its data) and so misses this call's cost.
  if cur and mine and (pending or cur ~= mine) then
    if pending and cur == mine then
      for _, m in ipairs(measures) do
        local err = add(key, 'held_' .. m, neg(held[m]))
        if err then
          undo()
          return {'error', err}
        end
      end
    elseif settle then
      recovered = true
    end
    if settle then
      for _, m in ipairs(measures) do
        local err = add(key, 'spent_' .. m, actual[m]) or add(key, 'held_' .. m, actual[m])
        if err then
          undo()
          return {'error', err}
        end
      end
      local su, st = get(key, 'spent_usd'), get(key, 'spent_tok')
      for j = 0, t - 1 do
        local pct, tu, tt = ARGV[b + 2 + 3 * j], ARGV[b + 3 + 3 * j], ARGV[b + 4 + 3 * j]
        if (tu ~= '' and cmp(su, tu) >= 0) or (tt ~= '' and cmp(st, tt) >= 0) then
          if redis.call('HSETNX', key, 'x' .. pct, '1') == 1 then
            out[#out + 1] = {i - 1, pct, su, st}
          end
        end
      end
    end
  end
end

if pending then redis.call('DEL', resv) end
if recovered then
  redis.call('HSET', resv, 'done', '1')
  redis.call('PEXPIRE', resv, ARGV[4])
end
return out
`)

// seedScript initializes counters that are still uninitialized with the spend
// the ledger holds for their windows. A counter another caller seeded first is
// left alone, so concurrent seeding is safe.
//
// KEYS are counters; ARGV holds four values per counter: spent usd, spent
// tokens, a fresh epoch and the TTL in ms.
var seedScript = redis.NewScript(`
for i = 1, #KEYS do
  local key, b = KEYS[i], (i - 1) * 4
  if redis.call('HEXISTS', key, 'epoch') == 0 then
    redis.call('DEL', key)
    redis.call('HSET', key, 'epoch', ARGV[b + 3],
      'spent_usd', ARGV[b + 1], 'held_usd', ARGV[b + 1],
      'spent_tok', ARGV[b + 2], 'held_tok', ARGV[b + 2])
    redis.call('PEXPIRE', key, ARGV[b + 4])
  end
end
return 'ok'
`)
