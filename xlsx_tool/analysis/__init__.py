"""The prefecture analysis: every municipality, every sub-item, against the nation and last year.

model: pure functions from the municipalities' answers (from returned books or published results, turned
into `Dataset`s by the command line) to one `Analysis` — rates per sub-item and ladder level, the
municipality × sub-item matrix, each municipality's lacking list, group/goal averages, every input
accounted for. outputs: that one model rendered as the workbook, the HTML page and the CSV, written as a set.

May import scoring, catalog and util (read, workbook and the other rooms of its level are not needed);
independent of collect, report and money.
"""
