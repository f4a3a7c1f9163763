/**
 * The scheduler's state transitions, each one atomic in Redis. Shared by claim.ts (admit, renew) and
 * run-finish in claim.ts. Key names mirror keys.ts.
 *
 * Invariants the scripts keep:
 * - a fire is admitted at most once: `SET fire NX PX` plus the high-water mark `hwm`, so even after the
 *   claim key expires an old fire can never be admitted again (fires of a job are admitted in order);
 * - only the holder of the newest fencing token (`runToken`) may record an outcome or start the next
 *   queued fire; a paused replica whose lease ran out and was taken over gets "fenced";
 * - every admitted fire ends in exactly one history outcome (succeeded, failed, timed-out, fenced,
 *   covered, discarded, misfired), counters count fires, so they add up to the fires handled.
 */

const prelude = `
local prefix = ARGV[1]
local function k(kind, job) return prefix .. ':' .. kind .. ':' .. job end

local function record(job, entry, cap)
  redis.call('LPUSH', k('history', job), cjson.encode(entry))
  redis.call('LTRIM', k('history', job), 0, cap - 1)
  redis.call('HINCRBY', k('counters', job), entry.outcome, entry.count or 1)
end

-- Gives the run lock of a job to one fire and mints its fencing token.
local function grant(job, fire, replica, now, lease)
  local token = redis.call('INCR', k('fence', job))
  redis.call('HSET', k('state', job), 'runToken', token)
  redis.call('SET', k('run', job), token .. '|' .. fire .. '|' .. replica .. '|' .. now, 'PX', lease)
  return token
end

-- Chooses the next queued fire to run, applying the misfire strategy to fires that waited too long.
local function pickNext(job, now, misfire, threshold, replica, cap)
  local pend = redis.call('ZRANGE', k('pending', job), 0, -1)
  if #pend == 0 then return nil end
  local late, onTime = {}, {}
  for _, f in ipairs(pend) do
    if now - tonumber(f) > threshold then table.insert(late, f) else table.insert(onTime, f) end
  end
  local chosen = onTime[1]
  if #late > 0 then
    for _, f in ipairs(late) do redis.call('ZREM', k('pending', job), f) end
    local dropped = #late
    if misfire == 'fire-once' then
      chosen = late[#late]
      dropped = #late - 1
    end
    if dropped > 0 then
      record(job, { fire = tonumber(late[#late]), outcome = 'misfired', count = dropped, replica = replica,
        at = now, reason = 'waited longer than ' .. threshold .. ' ms behind a running fire' }, cap)
    end
  end
  if chosen then redis.call('ZREM', k('pending', job), chosen) end
  return chosen
end
`;

/** Claim and block decision as Lua functions, shared by the batch scripts below. */
const claimAndDecide = `
-- SET NX PX claim plus the high-water mark. Returns nil when the fire is not ours, else the previous hwm.
local function claim(job, fire, replica, claimTtl)
  if not redis.call('SET', k('fire', job) .. ':' .. fire, replica, 'PX', claimTtl, 'NX') then return nil, 'lost' end
  local hwm = tonumber(redis.call('HGET', k('state', job), 'hwm') or '-1')
  if tonumber(fire) <= hwm then return nil, 'stale' end
  redis.call('HSET', k('state', job), 'hwm', fire)
  return hwm
end

local function markDecided(job, fire)
  local decided = tonumber(redis.call('HGET', k('state', job), 'decided') or '-1')
  if tonumber(fire) > decided then redis.call('HSET', k('state', job), 'decided', fire) end
end

-- The block strategy, for a claimed fire at its instant. Returns {status, fire, token}.
local function decide(job, fire, block, misfire, threshold, replica, now, lease, cap)
  markDecided(job, fire)
  local f = tonumber(fire)
  local holder = redis.call('GET', k('run', job))
  if holder then
    if block == 'serial' then
      redis.call('ZADD', k('pending', job), f, fire)
      -- The third value tells the claimant when to check on the holder (see drainScript).
      return { 'queued', fire, redis.call('PTTL', k('run', job)) }
    elseif block == 'discard-later' then
      record(job, { fire = f, outcome = 'discarded', replica = replica, at = now,
        reason = 'previous run still running: ' .. holder }, cap)
      return { 'discarded', fire, 0 }
    end
    local oldToken, oldFire, oldReplica = string.match(holder, '^(%d+)|(%d+)|([^|]*)|')
    redis.call('ZADD', k('covered', job), tonumber(oldToken), oldToken)
    redis.call('ZREMRANGEBYRANK', k('covered', job), 0, -257)
    record(job, { fire = tonumber(oldFire), token = tonumber(oldToken), replica = oldReplica, outcome = 'covered',
      at = now, reason = 'covered by fire ' .. fire }, cap)
    redis.call('PUBLISH', prefix .. ':cancel', job .. '|' .. oldToken)
    return { 'run', fire, grant(job, fire, replica, now, lease) }
  end
  if redis.call('ZCARD', k('pending', job)) > 0 then
    -- The previous holder died with fires queued behind it: run them first, in order.
    redis.call('ZADD', k('pending', job), f, fire)
    local chosen = pickNext(job, now, misfire, threshold, replica, cap)
    if chosen then return { 'run', chosen, grant(job, chosen, replica, now, lease) } end
    return { 'misfired', fire, 0 }
  end
  return { 'run', fire, grant(job, fire, replica, now, lease) }
end
`;

/**
 * Claims upcoming fires ahead of their instant (XXL-Job's "pre-read"), so no Redis round trip sits
 * between the timer and the start. When the job is idle (no run lock, no queue, every earlier fire
 * decided) nothing can change before the instant, so the run is granted right away: "granted". Else
 * the block decision waits for the instant: "claimed" (then call decideScript).
 * ARGV: prefix, replica, now, leaseMs, claimTtlMs, count, then per fire: job, fire.
 * Returns per fire {status, fire, token}: status is lost | stale | granted | claimed.
 */
export const claimAheadScript = `${prelude}${claimAndDecide}
local replica, now, lease, claimTtl = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local count = tonumber(ARGV[6])
local results = {}
for i = 0, count - 1 do
  local job, fire = ARGV[7 + i * 2], ARGV[8 + i * 2]
  local hwm, why = claim(job, fire, replica, claimTtl)
  if not hwm then
    results[i + 1] = { why, fire, 0 }
  else
    local decided = tonumber(redis.call('HGET', k('state', job), 'decided') or '-1')
    if decided == hwm and redis.call('EXISTS', k('run', job)) == 0 and redis.call('ZCARD', k('pending', job)) == 0 then
      markDecided(job, fire)
      results[i + 1] = { 'granted', fire, grant(job, fire, replica, now, lease) }
    else
      results[i + 1] = { 'claimed', fire, 0 }
    end
  end
end
return results
`;

/**
 * Applies the block strategy to fires this replica claimed ahead, at their instant.
 * ARGV: prefix, replica, now, leaseMs, historyCap, count, then per fire: job, fire, block, misfire, thresholdMs.
 * Returns per fire {status, fire, token}: run | queued | discarded | misfired ("run" may name an older queued fire).
 */
export const decideScript = `${prelude}${claimAndDecide}
local replica, now, lease, cap = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local count = tonumber(ARGV[6])
local results = {}
for i = 0, count - 1 do
  local b = 7 + i * 5
  results[i + 1] = decide(ARGV[b], ARGV[b + 1], ARGV[b + 2], ARGV[b + 3], tonumber(ARGV[b + 4]), replica, now, lease, cap)
end
return results
`;

/**
 * Claims and decides late fires in one step (the timer woke after the instant: startup after
 * downtime, a stalled event loop), applying the misfire strategy.
 * ARGV: prefix, replica, now, leaseMs, claimTtlMs, historyCap, count, then per fire 7 values:
 *   job, fire, block, misfire, thresholdMs, lateList ("" or comma-separated late fires ending with fire), lateBeyondCap.
 * Returns per fire {status, fire, token}: status is lost | stale | run | queued | discarded | misfired.
 */
export const admitScript = `${prelude}${claimAndDecide}
local replica, now, lease, claimTtl, cap = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local count = tonumber(ARGV[7])
local results = {}
for i = 0, count - 1 do
  local b = 8 + i * 7
  local job, fire, block, misfire = ARGV[b], ARGV[b + 1], ARGV[b + 2], ARGV[b + 3]
  local threshold, lateList, beyond = tonumber(ARGV[b + 4]), ARGV[b + 5], tonumber(ARGV[b + 6])
  local hwm, why = claim(job, fire, replica, claimTtl)
  if not hwm then
    results[i + 1] = { why, fire, 0 }
  else
    local skipped = false
    if lateList ~= '' then
      -- Fires nobody started in time: count those newer than what was already admitted.
      local missed, first = 0, nil
      for late in string.gmatch(lateList, '[^,]+') do
        first = first or tonumber(late)
        if tonumber(late) > hwm then missed = missed + 1 end
      end
      if first and hwm < first then missed = missed + beyond end
      local dropped = missed
      if misfire == 'fire-once' then dropped = missed - 1 end
      if dropped > 0 then
        record(job, { fire = tonumber(fire), outcome = 'misfired', count = dropped, replica = replica, at = now,
          reason = 'not started within ' .. threshold .. ' ms of its fire time' }, cap)
      end
      skipped = misfire == 'skip'
    end
    if skipped then
      markDecided(job, fire)
      results[i + 1] = { 'misfired', fire, 0 }
    else
      results[i + 1] = decide(job, fire, block, misfire, threshold, replica, now, lease, cap)
    end
  end
end
return results
`;

/**
 * Starts the oldest queued fire of a job whose run lock has expired: the holder died or stalled, and
 * waiting for the next fire would stretch the failover beyond one lease. Called by replicas that saw
 * "queued", at the holder's lease expiry.
 * ARGV: prefix, replica, now, leaseMs, historyCap, job, misfire, thresholdMs.
 * Returns {status, fire, tokenOrPttl}: busy (lock still held; PTTL) | idle (nothing queued) | run.
 */
export const drainScript = `${prelude}
local replica, now, lease, cap = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local job, misfire, threshold = ARGV[6], ARGV[7], tonumber(ARGV[8])
local pttl = redis.call('PTTL', k('run', job))
if pttl > 0 then return { 'busy', '0', pttl } end
local chosen = pickNext(job, now, misfire, threshold, replica, cap)
if not chosen then return { 'idle', '0', 0 } end
return { 'run', chosen, grant(job, chosen, replica, now, lease) }
`;

/**
 * Records a finished run and hands over to the next queued fire, if its token is still the newest.
 * ARGV: prefix, job, token, replica, now, leaseMs, historyCap, misfire, thresholdMs, entryJson, takeNext ("1"/"0").
 * A replica shutting down passes takeNext "0": the queue stays for the next fire's claimant.
 * Returns {status, fire, token}: idle | run (next fire and its token) | fenced | covered.
 */
export const finishScript = `${prelude}
local job, token, replica, now = ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5])
local lease, cap, misfire, threshold = tonumber(ARGV[6]), tonumber(ARGV[7]), ARGV[8], tonumber(ARGV[9])
local entry = cjson.decode(ARGV[10])
if redis.call('HGET', k('state', job), 'runToken') ~= token then
  if redis.call('ZSCORE', k('covered', job), token) then
    redis.call('ZREM', k('covered', job), token)
    return { 'covered', '0', 0 }
  end
  entry.result = entry.outcome
  entry.outcome = 'fenced'
  entry.reason = 'a newer fencing token owns the job: this run lost its lease while ' .. entry.result
  record(job, entry, cap)
  return { 'fenced', '0', 0 }
end
record(job, entry, cap)
local chosen = nil
if ARGV[11] == '1' then chosen = pickNext(job, now, misfire, threshold, replica, cap) end
if not chosen then
  redis.call('DEL', k('run', job))
  return { 'idle', '0', 0 }
end
return { 'run', chosen, grant(job, chosen, replica, now, lease) }
`;

/**
 * Extends the run lock if the token is still the newest. ARGV: prefix, job, token, value, leaseMs.
 * Returns 1 while the run owns the job; once a newer token does (the run must stop): 2 if a later
 * fire covered it (cover-earlier), 0 otherwise (its lease ran out and another replica took over).
 */
export const renewScript = `${prelude}
local job, token, value, lease = ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5])
if redis.call('HGET', k('state', job), 'runToken') ~= token then
  if redis.call('ZSCORE', k('covered', job), token) then return 2 end
  return 0
end
redis.call('SET', k('run', job), value, 'PX', lease)
return 1
`;
