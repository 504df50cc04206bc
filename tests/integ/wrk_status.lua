-- SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
-- wrk -s tests/integ/wrk_status.lua: counts the answers by status on each
-- wrk thread and prints the histogram when the run ends, one line a code:
-- "status 200: 1234". A load smoke test that fails shows which codes it saw.
local threads = {}

function setup(thread)
	table.insert(threads, thread)
end

function init(args)
	codes = {}
end

function response(status, headers, body)
	codes[status] = (codes[status] or 0) + 1
end

function done(summary, latency, requests)
	local total = {}
	for _, t in ipairs(threads) do
		local c = t:get("codes")
		for k, v in pairs(c) do
			total[k] = (total[k] or 0) + v
		end
	end
	local keys = {}
	for k in pairs(total) do
		table.insert(keys, k)
	end
	table.sort(keys)
	for _, k in ipairs(keys) do
		io.write(string.format("status %d: %d\n", k, total[k]))
	end
end
