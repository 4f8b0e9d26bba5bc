package budget

import "github.com/redis/go-redis/v9"

// The scripts below never turn an amount into a Lua number. Lua 5.1 (and
// gopher-lua, which miniredis uses) has only doubles, exact up to 2^53, and
// 2^53 pico-dollars is only about $9,007: a team's monthly budget passes that.
// So amounts travel as decimal strings, and the scripts do no arithmetic:
//
//   - Go does the subtractions, exactly, in int64: it passes the room a
//     reservation needs (limit - amount), and the change a settlement makes to
//     the held amount (actual - reserved).
//   - Lua only compares decimal strings, digit by digit (cmp): "held ≤ room"
//     is "held + amount ≤ limit" without an addition.
//   - Redis does the additions with HINCRBY: exact signed 64-bit integers, and
//     it refuses to overflow. HINCRBY's reply, which Lua would see as a
//     double, is never used; values are read back with HGET as strings.
//
// The bound is therefore int64 per counter field: about $9.2 million, or
// 9.2e18 tokens, per scope and window. An addition that would pass it fails
// the whole call, and the script undoes what it had written.
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
  if string.sub(s, 1, 1) == '-' then return string.sub(s, 2) end
  return '-' .. s
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
`

// reserveScript holds an amount on every counter, or on none.
//
// KEYS[1] is the reservation hash, KEYS[2..] the counters. ARGV[1] and ARGV[2]
// are the amount (usd picos, tokens), ARGV[3] the reservation's TTL in ms, then
// three values per counter: the most it may hold before this reservation in
// usd and in tokens (limit - amount; an empty string if there is no limit), and
// its new TTL in ms (an empty string to keep it).
//
// Replies: {'ok', epoch...}; {'seed', index...} when counters need seeding
// first (1-based counter indexes; nothing was written); {'over', index,
// measure, spent usd, spent tokens, held usd, held tokens} when a limit would
// be exceeded (nothing was written); {'conflict'} when the id is held by a
// different reservation; {'error', message}.
var reserveScript = redis.NewScript(luaPrelude + `
local resv, usd, tok = KEYS[1], ARGV[1], ARGV[2]
if redis.call('EXISTS', resv) == 1 then
  if redis.call('HGET', resv, 'usd') ~= usd or redis.call('HGET', resv, 'tok') ~= tok
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

local out, missing, vals = {'ok'}, {}, {}
for i = 2, #KEYS do
  local v = redis.call('HMGET', KEYS[i], 'epoch', 'held_usd', 'held_tok', 'spent_usd', 'spent_tok')
  if v[1] then out[#out + 1] = v[1] else missing[#missing + 1] = i - 1 end
  vals[i] = v
end
if #missing > 0 then return {'seed', missing} end

for i = 2, #KEYS do
  local v, b = vals[i], 3 + (i - 2) * 3
  local held_usd, held_tok = v[2] or '0', v[3] or '0'
  local over
  if ARGV[b + 1] ~= '' and cmp(held_usd, ARGV[b + 1]) > 0 then
    over = 'usd'
  elseif ARGV[b + 2] ~= '' and cmp(held_tok, ARGV[b + 2]) > 0 then
    over = 'tok'
  end
  if over then
    return {'over', i - 1, over, v[4] or '0', v[5] or '0', held_usd, held_tok}
  end
end

local fields = {'usd', usd, 'tok', tok}
for i = 2, #KEYS do
  local key, ttl = KEYS[i], ARGV[3 + (i - 2) * 3 + 3]
  local err = add(key, 'held_usd', usd) or add(key, 'held_tok', tok)
  if err then
    undo()
    return {'error', err}
  end
  if ttl ~= '' then redis.call('PEXPIRE', key, ttl) end
  fields[#fields + 1] = key
  fields[#fields + 1] = out[i]
end
redis.call('HSET', resv, unpack(fields))
redis.call('PEXPIRE', resv, ARGV[3])
return out
`)

// finishScript settles or releases a reservation (a release settles at no
// cost and reports nothing). Running it twice changes nothing the second
// time.
//
// KEYS[1] is the reservation hash, KEYS[2..] its counters. ARGV[1] is 'settle'
// or 'release', ARGV[2] and ARGV[3] the actual cost (usd picos, tokens),
// ARGV[4] and ARGV[5] the amount reserved, ARGV[6] and ARGV[7] the actual cost
// minus the amount reserved, ARGV[8] the tombstone's TTL in ms, ARGV[9] the
// number t of thresholds, then 1+3t values per counter: the counter's epoch
// when reserved, and per threshold its percent and the usd and token spend
// that reach it (an empty string if the limit does not set that measure).
//
// Replies: {'ok', {index, percent, spent usd, spent tokens}...} listing the
// thresholds newly reached; {'error', message}.
var finishScript = redis.NewScript(luaPrelude + `
local resv, settle = KEYS[1], ARGV[1] == 'settle'
local usd, tok, delta_usd, delta_tok = ARGV[2], ARGV[3], ARGV[6], ARGV[7]
local t = tonumber(ARGV[9])
local stride = 1 + 3 * t

local fields = {'usd', 'tok', 'done'}
for i = 2, #KEYS do fields[#fields + 1] = KEYS[i] end
local r = redis.call('HMGET', resv, unpack(fields))
if r[3] then return {'ok'} end
local pending = r[1] ~= false
if pending and (r[1] ~= ARGV[4] or r[2] ~= ARGV[5]) then
  return {'error', 'the reservation does not match what was reserved'}
end

local recovered = false
local out = {'ok'}
for i = 2, #KEYS do
  local key, b = KEYS[i], 9 + (i - 2) * stride
  local cur, mine = redis.call('HGET', key, 'epoch'), ARGV[b + 1]
  if pending then mine = r[i + 2] end
  -- Touch a counter only if it holds this reservation, or if it was rebuilt
  -- from the ledger after the reservation was taken (Redis lost the
  -- reservation with the rest of its data) and so misses this call's cost.
  if cur and mine and (pending or cur ~= mine) then
    local err
    if pending and cur == mine then
      err = add(key, 'held_usd', delta_usd) or add(key, 'held_tok', delta_tok)
    else
      recovered = settle
      err = add(key, 'held_usd', usd) or add(key, 'held_tok', tok)
    end
    err = err or add(key, 'spent_usd', usd) or add(key, 'spent_tok', tok)
    if err then
      undo()
      return {'error', err}
    end
    if settle then
      local names = {'spent_usd', 'spent_tok'}
      for j = 0, t - 1 do names[#names + 1] = 'x' .. ARGV[b + 2 + 3 * j] end
      local v = redis.call('HMGET', key, unpack(names))
      local su, st = v[1] or '0', v[2] or '0'
      for j = 0, t - 1 do
        local pct, tu, tt = ARGV[b + 2 + 3 * j], ARGV[b + 3 + 3 * j], ARGV[b + 4 + 3 * j]
        if not v[3 + j] and ((tu ~= '' and cmp(su, tu) >= 0) or (tt ~= '' and cmp(st, tt) >= 0)) then
          redis.call('HSET', key, 'x' .. pct, '1')
          out[#out + 1] = {i - 1, pct, su, st}
        end
      end
    end
  end
end

if pending then redis.call('DEL', resv) end
if recovered then
  redis.call('HSET', resv, 'done', '1')
  redis.call('PEXPIRE', resv, ARGV[8])
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
